--[[
  sweepFinishedIndexes: one step of the expiry sweep. A finished job's
  record expires with the retention window (EXPIRE), but its index entry is
  a member of a sorted set, which does not: the sweep walks the
  finished-status indexes (succeeded, failed, cancelled) of the workspaces
  in the registry, and the all-jobs index that releases before it wrote,
  and drops every entry whose record is gone from both schemas. A dead
  letter leaves the dead-letter list with its record. What is stored per
  job for this is nothing: the record's own expiry and the created_at in
  the entry drive it (a finish only makes sure its workspace is in the
  registry: retention.lua sweepLater).

  Only entries of jobs created more than the retention window ago
  (ARGV[1]) are read: a record expires at the earliest a window after it
  finished, so no later than that after it was created; younger entries are
  alive and cost nothing. A job that finished long after it was created
  (delayed, retried) stays in range while it lives and is read once per
  cycle until its record goes.

  A step reads at most ARGV[2] entries (and counts each index it opens as
  one, so a run of empty ones is bounded too), going on from where the last
  step stopped (KEYS[2]: workspace, index, member); the recovery pass runs
  steps until a cycle (every registered workspace once) ends. A workspace
  whose swept indexes are all empty leaves the registry. Idempotent (ZREM):
  two sweeps at once do no harm.

  The event streams' age limit rides on this: each workspace the sweep
  finishes has its stream (events.lua) trimmed of the events older than
  ARGV[3] (JOB_RETENTION_SECONDS), one exact XTRIM MINID. A job's events are
  older than the window once its record expires (its last one, the final,
  is appended as it finishes, in the call that sets the record's expiry),
  and its workspace stays in the registry until the sweep has dropped its
  entry, so no event outlives its job by more than a cycle of the sweep
  (one recovery pass); in a workspace that keeps finishing jobs, no event
  outlives the window by more than that either. Events of jobs that never
  finish wait for the next expiry in their workspace (the length cap bounds
  them meanwhile).

  Input:
    KEYS[1] expiringWorkspaces (lex)  KEYS[2] expirySweep (hash)  KEYS[3] deadLetters
    ARGV[1] retention window (s); 0 reads every entry
    ARGV[2] entries to read at most
    ARGV[3] the event streams' retention window (s): JOB_RETENTION_SECONDS
  Output: {entries read, entries dropped, 1 when the cycle ended (the next step starts another), else 0}

  Reads index and record keys by computed name (not in KEYS): fine on one
  Redis primary; the Cluster plan adds hash tags.
]]
-- @include clock
-- @include entries
-- @include keys
local window, budget = tonumber(ARGV[1]), tonumber(ARGV[2])
-- Per workspace, in order: the finished statuses, then ('') the all-jobs index of earlier releases.
local SWEPT = {'succeeded', 'failed', 'cancelled', ''}
-- Index members are '<created_at ISO 8601, 24 characters>/<job_id>'.
local ID_FROM = 26
-- A finish appends its event within a script's run of the time it sets the
-- record's expiry from (the stream's own id is Redis's clock at the XADD).
local EVENT_SLACK_MS = 1000

local function sweptKey(ws, i)
  if SWEPT[i] == '' then return Keys.allJobsIndex(ws) end
  return Keys.workspaceStatusIndex(ws, SWEPT[i])
end

local nowMs = redisNowMs()
-- Exclusive upper bound of the members read: created before now - window.
local upper = window > 0 and '(' .. isoFromMs(nowMs - window * 1000) or '+'
-- Events with a smaller stream id are past the retention window.
local oldestKept = string.format('%d', nowMs - tonumber(ARGV[3]) * 1000 + EVENT_SLACK_MS)

-- Neither copy exists: a scoped record, or a legacy one of this workspace.
local function recordGone(ws, jobId)
  if redis.call('EXISTS', Keys.scopedJob(ws, jobId)) == 1 then return false end
  -- pcall: a legacy key of another type is no copy of this job.
  return redis.pcall('HGET', Keys.legacyJob(jobId), 'workspace_id') ~= ws
end

local state = redis.call('HMGET', KEYS[2], 'ws', 'index', 'at', 'after')
local ws, index, at, after = state[1] or nil, tonumber(state[2]) or 1, state[3] or nil, state[4] or nil
local read, dropped = 0, 0

while budget > 0 do
  if not ws then
    ws = redis.call('ZRANGE', KEYS[1], after and '(' .. after or '-', '+', 'BYLEX', 'LIMIT', 0, 1)[1]
    if not ws then
      redis.call('DEL', KEYS[2])
      return {read, dropped, 1}
    end
    index, at = 1, nil
  end
  local key = sweptKey(ws, index)
  local want = math.min(budget, 500)
  -- pcall: an index of another type (corruption) is passed over.
  local members = redis.pcall('ZRANGE', key, at and '(' .. at or '-', upper, 'BYLEX', 'LIMIT', 0, want)
  if members.err then members = {} end
  local gone = {}
  for _, member in ipairs(members) do
    local jobId = string.sub(member, ID_FROM)
    if recordGone(ws, jobId) then
      gone[#gone + 1] = member
      if SWEPT[index] == 'failed' then redis.pcall('LREM', KEYS[3], 1, queueEntry(ws, jobId)) end
    end
  end
  if #gone > 0 then redis.call('ZREM', key, unpack(gone)) end
  read, dropped = read + #members, dropped + #gone
  budget = budget - math.max(1, #members)
  if #members == want then
    at = members[#members]
  elseif index < #SWEPT then
    index, at = index + 1, nil
  else
    -- The workspace is done: every workspace with finished jobs comes here
    -- once per cycle, the place for any other upkeep that follows expiry.
    -- Its event stream loses the events past the window. Exact (not '~'): a
    -- stream shorter than a node would never lose an entry to '~'. (pcall: a
    -- key of another type in the way is left alone.)
    redis.pcall('XTRIM', Keys.workspaceEvents(ws), 'MINID', oldestKept)
    -- Out of the registry once it has nothing left to sweep (a finish puts it back).
    if redis.call('EXISTS', sweptKey(ws, 1), sweptKey(ws, 2), sweptKey(ws, 3), sweptKey(ws, 4)) == 0 then
      redis.call('ZREM', KEYS[1], ws)
    end
    after, ws, index, at = ws, nil, 1, nil
  end
end

-- The budget is spent: the next step goes on from here.
redis.call('DEL', KEYS[2])
local fields = {'index', index}
if ws then fields[#fields + 1] = 'ws'; fields[#fields + 1] = ws end
if at then fields[#fields + 1] = 'at'; fields[#fields + 1] = at end
if after then fields[#fields + 1] = 'after'; fields[#fields + 1] = after end
redis.call('HSET', KEYS[2], unpack(fields))
return {read, dropped, 0}
