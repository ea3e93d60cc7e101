-- claim: starting pending jobs, shared by claimJobs and finishJobs (which
-- claims the next jobs in the same call).
-- @requires clock entries copies statusIndex retention writeBatch
-- Expects KEYS laid out as both scripts document:
--   KEYS[1] pending list  KEYS[2] active list  KEYS[3] lease set
--   KEYS[4] retry set     KEYS[5] dead letters KEYS[6] retention set
-- A lease is the member '<entry>|<token>' of the lease set, scored by its
-- deadline: only the holder of the token can remove or renew it (fencing).
-- The claim context (claimContext) carries the call's clock, its limits and
-- its write batch; every job of one call shares them.
-- Defines: leasesKeyError, claimContext, promoteDueRetries, startEntry, claimUpTo.

-- The lease set, checked before a hot-path call writes anything: a claim
-- whose lease write failed would hand out a job no one could finish or
-- recover. (Every other write of these calls either comes before anything
-- is popped or removed, or is skipped and counted instead of aborting.)
local function leasesKeyError()
  local t = redis.call('TYPE', KEYS[3])['ok']
  if t ~= 'none' and t ~= 'zset' then
    return redis.error_reply('relay: ' .. KEYS[3] .. ' holds a ' .. t .. ', not a zset; nothing was changed')
  end
  return nil
end

-- nowMs from redisNowMs(); the ISO time and deadlines are formatted once per call.
local function claimContext(nowMs, leaseMs, maxJobs, workerId, maxAttempts, retention, writes)
  return {
    nowMs = nowMs, nowIso = isoFromMs(nowMs), maxJobs = maxJobs, workerId = workerId, maxAttempts = maxAttempts,
    retention = retention, leaseDeadline = string.format('%d', nowMs + leaseMs),
    expiresAt = string.format('%d', nowMs + retention * 1000), writes = writes,
    -- {entry, attempts, provider, name} of jobs this call failed for their spent attempts (dead letters).
    gaveUp = {},
  }
end

-- Moves retries that are due to the consuming end of the pending list
-- (pushed before it is removed: a failing push then loses nothing).
local function promoteDueRetries(nowMs)
  for _, entry in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', nowMs, 'LIMIT', 0, 1000)) do
    redis.call('RPUSH', KEYS[1], entry)
    redis.call('ZREM', KEYS[4], entry)
  end
end

-- Starts one entry: every copy to `running`, attempts + 1, and a lease.
-- Entries whose job is gone or no longer pending are dropped; a job past its
-- attempt budget (its workers kept dying) fails here. Appends to `claims`.
local function startEntry(entry, c, claims)
  local ws, jobId = splitEntry(entry)
  if not ws then return end
  local copies, f = readCopies(ws, jobId, 'status', 'attempts', 'action_provider', 'action_name', 'params', 'actor_id', 'created_at')
  if f[1] ~= 'pending' or not f[7] then return end
  local member = indexMember(f[7], jobId)
  local attempts = (tonumber(f[2]) or 0) + 1
  local writes = c.writes
  if attempts > c.maxAttempts then
    setAll(copies, 'status', 'failed', 'error', 'gave up: the job was interrupted on every attempt', 'updated_at', c.nowIso, 'finished_at', c.nowIso)
    expireAll(copies, c.retention)
    batchMoveStatus(writes, ws, member, 'pending', 'failed')
    writes:tryWrite('LPUSH', KEYS[5], entry)
    writes:zadd(KEYS[6], c.expiresAt, retentionItem(ws, 'failed', member))
    c.gaveUp[#c.gaveUp + 1] = {entry, f[2] or '0', f[3] or '', f[4] or ''}
    return
  end
  setAll(copies, 'status', 'running', 'attempts', attempts, 'started_at', c.nowIso, 'updated_at', c.nowIso)
  batchMoveStatus(writes, ws, member, 'pending', 'running')
  local token = c.workerId .. ':' .. attempts
  writes:zadd(KEYS[3], c.leaseDeadline, leaseMember(entry, token))
  claims[#claims + 1] = {entry, token, tostring(attempts), f[3] or '', f[4] or '', f[5] or '{}', f[6] or '', f[7], c.nowIso}
end

-- Claims up to c.maxJobs pending entries, popping as many as are still
-- wanted per RPOP, then flushes the call's writes. Bounded, so a long run of
-- cancelled entries cannot make one call slow.
local function claimUpTo(c, claims)
  local budget = c.maxJobs * 4 + 100
  while #claims < c.maxJobs and budget > 0 do
    local want = math.min(c.maxJobs - #claims, budget)
    local entries = redis.call('RPOP', KEYS[1], want)
    if not entries then break end
    for _, entry in ipairs(entries) do startEntry(entry, c, claims) end
    budget = budget - #entries
    if #entries < want then break end
  end
  c.writes:flush()
end
