--[[
  cancelJob: cancels a pending job in every copy that exists, atomically.
  Times come from Redis TIME.

  Input:
    KEYS[1] expiringWorkspaces (the expiry sweep's registry)  KEYS[2] delayed set  KEYS[3] retry set
    ARGV[1] workspace id  ARGV[2] job id
    ARGV[3] retention (s): finished jobs expire
    ARGV[4] read routing: 'legacy' | 'scoped' | 'scoped-then-legacy' (a job the
            reads cannot see is missing here too, exactly as for GET)

  Output:
    {'cancelled', field, value, ...}   the job as the reads would serve it now
    {'missing'}             no copy of this job in this workspace
    {'conflict', status}    the job is no longer pending

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
local ws, jobId, retention, routing = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local copies = jobCopies(ws, jobId)
local scopedKey = Keys.scopedJob(ws, jobId)
-- The copy the reads would serve (jobCopies lists the scoped copy first).
local served
for _, key in ipairs(copies) do
  if not served and (routing == 'scoped-then-legacy' or (routing == 'scoped') == (key == scopedKey)) then served = key end
end
if not served then return {'missing'} end
local f = redis.call('HMGET', copies[1], 'status', 'created_at')
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
local job = redis.call('HGETALL', served)
table.insert(job, 1, 'cancelled')
return job
