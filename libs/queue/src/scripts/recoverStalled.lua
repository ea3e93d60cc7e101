--[[
  recoverStalled: the periodic sweep any worker may run (one at a time,
  through a lock):
  1. leases past their deadline (the worker died or stalled): the job goes
     back to `pending` in every copy and its entry to the front of its
     workspace's list (rotation.lua), unless its cancel was requested: then
     it ends `cancelled` (includes/cancel.lua), never to run again;
  2. active-list entries seen without a lease by the previous pass too (a
     worker died between its blocking wait and its claim): the same;
  3. the running counts: recounted from the lease set (with more than
     RECOUNT_MAX leases, only lowered for the jobs of 1), and capped workspaces put back in
     the rotation (the next claim checks their caps again), so a count a
     dead worker left behind cannot hold a workspace back;
  4. cancel requests whose job no longer runs (a run that ended without
     taking its request: a record changed or expired by hand), up to 100 a
     pass, are dropped, so the set the renewals read stays small.
  The worker that ran the pass then removes the index entries of expired
  jobs (expireIndexEntries, as many calls as it takes). Times come from Redis TIME.

  Input:
    KEYS[1] leases (members '<entry>|<token>')  KEYS[2] pendingQueue
    KEYS[3] activeQueue  KEYS[4] stalledCheck  KEYS[5] recoveryLock
    (and, by name: cancelRequests, expiringWorkspaces)
    ARGV[1] lock time (ms)  ARGV[2] EVENTS_MAX_LEN  ARGV[3] retention (s) of a job cancelled here

  A running job requeued for its expired lease appends `retrying` (events.lua):
  status pending, the attempt whose lease lapsed, retry_at now, reason
  'lease_expired'; one cancelled instead appends `cancelled` (reason
  'requested'). A stalled entry's job was never started (still pending): no event.

  Output: {expired leases requeued, stalled entries requeued, events skipped, expired leases cancelled},
          or {-1} when another pass holds the lock
]]
-- @include clock
-- @include entries
-- @include copies
-- @include statusIndex
-- @include rotation
-- @include events
-- @include cancel
-- @include progress
local RECOUNT_MAX = 100000
-- The error of the event of a job whose lease lapsed (its record keeps the error it had).
local LEASE_EXPIRED = 'the lease expired (the worker stopped or stalled); it runs again'
useEventStream(ARGV[2])
local nowMs = redisNowMs()
local nowIso = isoFromMs(nowMs)
if not redis.call('SET', KEYS[5], nowIso, 'NX', 'PX', tonumber(ARGV[1])) then return {-1} end

-- An entry back in line: at the front of its workspace's list (or, should that list be of another type, the pending list).
local function requeue(entry)
  local ws = splitEntry(entry)
  if not ws or not pushFront(ws, entry) then redis.call('RPUSH', KEYS[2], entry) end
end

local retention = tonumber(ARGV[3])
local expired, cancelled = 0, 0
local ended = {}
-- Latest deadline first: each goes to the front of its list, so the earliest claimed ends up first.
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', nowMs, 'LIMIT', 0, 1000)
for i = #lapsed, 1, -1 do
  local lease = lapsed[i]
  redis.call('ZREM', KEYS[1], lease)
  local entry = entryOfLease(lease)
  local ws, jobId = splitEntry(entry)
  if ws then ended[ws] = (ended[ws] or 0) + 1 end
  local copies = jobCopies(ws, jobId)
  if #copies > 0 then
    local f = redis.call('HMGET', copies[1], 'status', 'created_at', 'attempts', 'action_provider', 'action_name')
    local action = (f[4] or '') .. '.' .. (f[5] or '')
    if f[1] == 'running' and takeCancelRequest(entry) then
      endCancelled(ws, jobId, copies, f[2] or '', action, f[3] or '0', nowIso, retention)
      cancelled = cancelled + 1
    else
      if f[1] == 'running' then
        setAll(copies, 'status', 'pending', 'updated_at', nowIso)
        clearProgress(copies)
        moveStatus(ws, indexMember(f[2] or '', jobId), 'running', 'pending')
        appendEvent(ws, 'retrying', jobId, action, 'pending', f[3] or '0', nowIso,
          {'error', LEASE_EXPIRED, 'retry_at', nowIso, 'reason', 'lease_expired'})
      end
      requeue(entry)
      expired = expired + 1
    end
  end
end

local stalled = 0
local seen = redis.call('LRANGE', KEYS[3], 0, -1)
local keep = {}
for _, entry in ipairs(seen) do
  if redis.call('SISMEMBER', KEYS[4], entry) == 1 then
    redis.call('LREM', KEYS[3], 1, entry)
    requeue(entry)
    stalled = stalled + 1
  else
    keep[#keep + 1] = entry
  end
end
redis.call('DEL', KEYS[4])
if #keep > 0 then redis.call('SADD', KEYS[4], unpack(keep)) end

-- The running counts: recounted from the lease set (which makes lowering
-- them for the jobs above unnecessary), or, past RECOUNT_MAX leases, lowered.
if redis.call('ZCARD', KEYS[1]) <= RECOUNT_MAX then
  local counts = {}
  for _, lease in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    local ws = splitEntry(entryOfLease(lease))
    if ws then counts[ws] = (counts[ws] or 0) + 1 end
  end
  local stored = redis.pcall('HGETALL', Keys.runningCounts)
  if type(stored) == 'table' and not stored.err then
    for i = 1, #stored, 2 do
      if not counts[stored[i]] then redis.call('HDEL', Keys.runningCounts, stored[i]) end
    end
    for ws, n in pairs(counts) do redis.call('HSET', Keys.runningCounts, ws, n) end
  end
else
  jobsEnded(ended)
end
for _, ws in ipairs(redis.call('SMEMBERS', Keys.cappedWorkspaces)) do
  redis.call('SREM', Keys.cappedWorkspaces, ws)
  joinRotation(ws)
end

local requests = redis.pcall('SRANDMEMBER', Keys.cancelRequests, 100)
if type(requests) == 'table' and not requests.err then
  for _, entry in ipairs(requests) do
    local ws, jobId = splitEntry(entry)
    local copies, f = {}, {}
    if ws then copies, f = readCopies(ws, jobId, 'status') end
    if f[1] ~= 'running' then redis.call('SREM', Keys.cancelRequests, entry) end
  end
end

return {expired, stalled, eventsSkipped(), cancelled}
