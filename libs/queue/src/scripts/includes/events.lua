-- events: the workspace's event stream (README "Event stream"). A script
-- that changes a job's lifecycle appends one entry per change, in the same
-- call: XADD Keys.workspaceEvents(ws) MAXLEN ~ <cap> * with the fields type,
-- job_id, action, status, attempt, at (always in this order, so that entries
-- share their field names inside a stream node), then the pairs of `extra`
-- ({field, value, ...}: result, error, retry_at, run_at, reason, ...).
-- Never params. One command per event, and no read for it: callers pass
-- what they have in hand.
-- The cap (EVENTS_MAX_LEN) comes in each call's ARGV, handed to
-- useEventStream before the first append. `~` trims whole stream nodes:
-- O(1) amortized, the length stays within one node of the cap.
-- pcall: a key of another type in the way (corruption or an operator's
-- mistake) must not abort a script after its writes: the append is skipped
-- and counted, and the script reports eventsSkipped() in its reply. Redis
-- refuses a write for memory only before a script's first write, and every
-- append follows the write it reports.
-- eventStream is this include's state for one call (the cap, the count).
-- @requires keys
-- Uses: Keys (generated). Defines: eventStream, useEventStream(maxLen),
-- appendEvent(ws, eventType, jobId, action, status, attempt, atIso, extra),
-- appendEventWith(ws, eventType, jobId, action, status, attempt, atIso, field, value), eventsSkipped(),
-- and their helpers streamKey(ws) (the key, built once per workspace per call), appended(reply).

-- keys: the stream key of each workspace seen in the call (a call appends many events of few workspaces).
local eventStream = {maxLen = nil, skipped = 0, keys = {}}

-- maxLen: the EVENTS_MAX_LEN text of the call's ARGV (Redis parses it).
local function useEventStream(maxLen)
  eventStream.maxLen = maxLen
end

local function streamKey(ws)
  local key = eventStream.keys[ws]
  if not key then
    key = Keys.workspaceEvents(ws)
    eventStream.keys[ws] = key
  end
  return key
end

local function appended(reply)
  if type(reply) == 'table' and reply.err then
    eventStream.skipped = eventStream.skipped + 1
    return false
  end
  return true
end

-- attempt: integer (text, or a number: text saves Redis formatting it); atIso: Redis time,
-- ISO 8601 with ms. Returns true when the event was appended.
-- appendEvent with one extra field (result, error, reason, run_at: the usual extra), no table built.
local function appendEventWith(ws, eventType, jobId, action, status, attempt, atIso, field, value)
  return appended(redis.pcall('XADD', streamKey(ws), 'MAXLEN', '~', eventStream.maxLen, '*',
    'type', eventType, 'job_id', jobId, 'action', action, 'status', status, 'attempt', attempt, 'at', atIso, field, value))
end

local function appendEvent(ws, eventType, jobId, action, status, attempt, atIso, extra)
  if extra and #extra == 2 then return appendEventWith(ws, eventType, jobId, action, status, attempt, atIso, extra[1], extra[2]) end
  if extra then
    local args = {'XADD', streamKey(ws), 'MAXLEN', '~', eventStream.maxLen, '*',
      'type', eventType, 'job_id', jobId, 'action', action, 'status', status, 'attempt', attempt, 'at', atIso}
    for i = 1, #extra do args[#args + 1] = extra[i] end
    return appended(redis.pcall(unpack(args)))
  end
  -- The common case builds no table.
  return appended(redis.pcall('XADD', streamKey(ws), 'MAXLEN', '~', eventStream.maxLen, '*',
    'type', eventType, 'job_id', jobId, 'action', action, 'status', status, 'attempt', attempt, 'at', atIso))
end

-- Appends of this call skipped because the stream's key holds another type.
local function eventsSkipped()
  return eventStream.skipped
end
