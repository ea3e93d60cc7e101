--[[
  cancelJob: cancels a job that has not started (pending, also while it
  waits for its due time or a retry) in every copy that exists, atomically;
  of a running job, records a cancel request and tells the workers, and the
  run's end makes it `cancelled` (includes/cancel.lua; README "Cancelling a
  running job"). Times come from Redis TIME.

  Input:
    KEYS[1] expiringWorkspaces (the expiry sweep's registry)  KEYS[2] delayed set  KEYS[3] retry set
    (and, by name: cancelRequests, cancelChannel)
    ARGV[1] workspace id  ARGV[2] job id
    ARGV[3] retention (s): finished jobs expire
    ARGV[4] read routing: 'legacy' | 'scoped' | 'scoped-then-legacy' (a job the
            reads cannot see is missing here too, exactly as for GET)
    ARGV[5] EVENTS_MAX_LEN: a cancel appends `cancelled` (reason 'requested'; events.lua)

  Output:
    {'cancelled', events skipped, field, value, ...}   the job as the reads would serve it now (its
                            entry is published on the cancel channel too: a worker holding it
                            prefetched drops it)
    {'requested', 0, field, value, ...}   the job runs: its entry joined the cancel requests (a
                            set, read by every lease renewal) and was published on the cancel
                            channel (the worker holding the lease stops it at once); the job as
                            now. No event: the run's end appends `cancelled` (includes/cancel.lua)
    {'missing'}             no copy of this job in this workspace
    {'conflict', status}    the job is final (succeeded, failed, cancelled)

  The queue entry stays in the lists: the worker drops entries of
  cancelled jobs, which saves an O(queue length) LREM here. A job waiting
  for its due time or for a retry is pending and can be cancelled too; its
  entry leaves the delayed and retry sets (ZREM, O(log n)), so they hold
  only jobs that will run, for the depth gauges and the claims that move
  due entries.
]]
-- @include clock
-- @include copies
-- @include statusIndex
-- @include entries
-- @include events
local ws, jobId, retention, routing = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
useEventStream(ARGV[5])
local copies = jobCopies(ws, jobId)
local scopedKey = Keys.scopedJob(ws, jobId)
-- The copy the reads would serve (jobCopies lists the scoped copy first).
local served
for _, key in ipairs(copies) do
  if not served and (routing == 'scoped-then-legacy' or (routing == 'scoped') == (key == scopedKey)) then served = key end
end
if not served then return {'missing'} end
local f = redis.call('HMGET', copies[1], 'status', 'created_at', 'attempts', 'action_provider', 'action_name')
if f[1] == 'running' then
  -- A cancel asked again while the job runs is the same request (SADD), published again.
  local entry = queueEntry(ws, jobId)
  redis.call('SADD', Keys.cancelRequests, entry)
  redis.call('PUBLISH', Keys.cancelChannel, entry)
  local job = redis.call('HGETALL', served)
  table.insert(job, 1, 0)
  table.insert(job, 1, 'requested')
  return job
end
if f[1] ~= 'pending' then return {'conflict', f[1] or ''} end
-- Checked before the first write: without created_at the index entry cannot be named.
if not f[2] then return {'conflict', 'unindexed (no created_at)'} end

local nowMs = redisNowMs()
local nowIso = isoFromMs(nowMs)
setAll(copies, 'status', 'cancelled', 'updated_at', nowIso, 'finished_at', nowIso)
expireAll(copies, retention)
local member = indexMember(f[2], jobId)
moveStatus(ws, member, 'pending', 'cancelled')
-- The record expires; the expiry sweep drops the index entry once it is gone (retention.lua).
-- (A registry of another type: skipped rather than raise after the writes above.)
redis.pcall('ZADD', KEYS[1], 0, ws)
-- A set of another type cannot hold the entry; skipping it keeps this script from raising after its writes.
local entry = queueEntry(ws, jobId)
for _, waiting in ipairs({KEYS[2], KEYS[3]}) do
  if redis.call('TYPE', waiting)['ok'] == 'zset' then redis.call('ZREM', waiting, entry) end
end
appendEvent(ws, 'cancelled', jobId, (f[4] or '') .. '.' .. (f[5] or ''), 'cancelled', f[3] or '0', nowIso, {'reason', 'requested'})
-- A worker may hold it prefetched (WORKER_PREFETCH): told at once, it drops the job instead of starting it.
redis.call('PUBLISH', Keys.cancelChannel, entry)
local job = redis.call('HGETALL', served)
table.insert(job, 1, eventsSkipped())
table.insert(job, 1, 'cancelled')
return job
