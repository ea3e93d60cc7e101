--[[
  recoverStalled: the periodic sweep any worker may run (one at a time,
  through a lock):
  1. leases past their deadline (the worker died or stalled): the job goes
     back to `pending` in every copy and its entry to the consuming end of
     the pending list;
  2. active-list entries seen without a lease by the previous pass too (a
     worker died between its blocking wait and its claim): back to pending.
  The worker that ran the pass then removes the index entries of expired
  jobs (expireIndexEntries, as many calls as it takes). Times come from Redis TIME.

  Input:
    KEYS[1] leases (members '<entry>|<token>')  KEYS[2] pendingQueue
    KEYS[3] activeQueue  KEYS[4] stalledCheck  KEYS[5] recoveryLock
    ARGV[1] lock time (ms)

  Output: {expired leases requeued, stalled entries requeued}, or {-1} when another pass holds the lock
]]
-- @include clock
-- @include entries
-- @include copies
-- @include statusIndex
local nowMs = redisNowMs()
local nowIso = isoFromMs(nowMs)
if not redis.call('SET', KEYS[5], nowIso, 'NX', 'PX', tonumber(ARGV[1])) then return {-1} end

local expired = 0
for _, lease in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', nowMs, 'LIMIT', 0, 1000)) do
  redis.call('ZREM', KEYS[1], lease)
  local entry = entryOfLease(lease)
  local ws, jobId = splitEntry(entry)
  local copies = jobCopies(ws, jobId)
  if #copies > 0 then
    local f = redis.call('HMGET', copies[1], 'status', 'created_at')
    if f[1] == 'running' then
      setAll(copies, 'status', 'pending', 'updated_at', nowIso)
      moveStatus(ws, indexMember(f[2] or '', jobId), 'running', 'pending')
    end
    redis.call('RPUSH', KEYS[2], entry)
    expired = expired + 1
  end
end

local stalled = 0
local seen = redis.call('LRANGE', KEYS[3], 0, -1)
local keep = {}
for _, entry in ipairs(seen) do
  if redis.call('SISMEMBER', KEYS[4], entry) == 1 then
    redis.call('LREM', KEYS[3], 1, entry)
    redis.call('RPUSH', KEYS[2], entry)
    stalled = stalled + 1
  else
    keep[#keep + 1] = entry
  end
end
redis.call('DEL', KEYS[4])
if #keep > 0 then redis.call('SADD', KEYS[4], unpack(keep)) end

return {expired, stalled}
