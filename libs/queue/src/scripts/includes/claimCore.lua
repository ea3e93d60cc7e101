-- Claiming, shared by claimJobs and finishJobs (which claims the next jobs in
-- the same call). Expects jobCopies to be included first, and KEYS laid out as:
--   KEYS[1] ai:queue:pending  KEYS[2] ai:queue:active  KEYS[3] ai:queue:leases
--   KEYS[4] ai:queue:retry  KEYS[5] ai:queue:dead  KEYS[6] ai:queue:retention
-- A lease is the member '<entry>|<token>' of the leases set, scored by its
-- deadline: only the holder of the token can remove or renew it (fencing).
-- `c` (the claim context) carries the lease deadline and retention expiry,
-- formatted once per call: every job of one call shares them. Sorted-set
-- writes are gathered (queueZsetWrite): claimUpTo flushes them.

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

local function claimContext(nowMs, nowIso, leaseMs, maxJobs, workerId, maxAttempts, retention)
  return {
    nowMs = nowMs, nowIso = nowIso, maxJobs = maxJobs, workerId = workerId, maxAttempts = maxAttempts,
    retention = retention, leaseDeadline = string.format('%d', nowMs + leaseMs),
    expiresAt = string.format('%d', nowMs + retention * 1000),
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
  local member = f[7] .. '/' .. jobId
  local attempts = (tonumber(f[2]) or 0) + 1
  if attempts > c.maxAttempts then
    setAll(copies, 'status', 'failed', 'error', 'gave up: the job was interrupted on every attempt', 'updated_at', c.nowIso, 'finished_at', c.nowIso)
    for _, key in ipairs(copies) do redis.call('EXPIRE', key, c.retention) end
    queueMoveStatus(ws, member, 'pending', 'failed')
    writeOrCount('LPUSH', KEYS[5], entry)
    queueZsetWrite('ZADD', KEYS[6], c.expiresAt, ws .. '|failed|' .. member)
    return
  end
  setAll(copies, 'status', 'running', 'attempts', attempts, 'started_at', c.nowIso, 'updated_at', c.nowIso)
  queueMoveStatus(ws, member, 'pending', 'running')
  local token = c.workerId .. ':' .. attempts
  queueZsetWrite('ZADD', KEYS[3], c.leaseDeadline, entry .. '|' .. token)
  claims[#claims + 1] = {entry, token, tostring(attempts), f[3] or '', f[4] or '', f[5] or '{}', f[6] or '', f[7]}
end

-- Claims up to c.maxJobs pending entries, popping as many as are still
-- wanted per RPOP. Bounded, so a long run of cancelled entries cannot make
-- one call slow.
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
  flushZsetWrites()
end
