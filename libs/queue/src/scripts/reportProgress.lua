--[[
  reportProgress: stores what an action reported of its run (`progress`,
  0-100, and `progress_message`) on every copy of its job, only while the
  caller holds the job's lease (fencing, as finishJobs: an attempt whose
  lease lapsed cannot write over the next one's), and appends a `progress`
  event (events.lua: status running, the job's attempt, `progress` and
  `message`). The worker throttles the calls (README "Progress"). Times
  come from Redis TIME.

  Input:
    KEYS[1] leases (members '<entry>|<token>')
    ARGV[1] entry  ARGV[2] lease token  ARGV[3] progress (integer text, 0-100)
    ARGV[4] message ('' for none; the worker bounds its length)  ARGV[5] EVENTS_MAX_LEN
  Output: {'done' | 'lost' (the lease is not the caller's) | 'gone' (no copy of the job), events skipped}
]]
-- @include clock
-- @include entries
-- @include copies
-- @include events
useEventStream(ARGV[5])
if not redis.call('ZSCORE', KEYS[1], leaseMember(ARGV[1], ARGV[2])) then return {'lost', 0} end
local ws, jobId = splitEntry(ARGV[1])
if not ws then return {'gone', 0} end
local copies, f = readCopies(ws, jobId, 'attempts', 'action_provider', 'action_name')
if #copies == 0 then return {'gone', 0} end
local nowIso = isoFromMs(redisNowMs())
setAll(copies, 'progress', ARGV[3], 'progress_message', ARGV[4], 'updated_at', nowIso)
appendEvent(ws, 'progress', jobId, (f[2] or '') .. '.' .. (f[3] or ''), 'running', f[1] or '0', nowIso, {'progress', ARGV[3], 'message', ARGV[4]})
return {'done', eventsSkipped()}
