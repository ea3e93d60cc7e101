-- Claiming, shared by claimJobs and finishJobs (which claims the next jobs in
-- the same call). Expects jobCopies to be included first, and KEYS laid out as:
--   KEYS[1] ai:queue:pending  KEYS[2] ai:queue:active  KEYS[3] ai:queue:leases
--   KEYS[4] ai:queue:retry  KEYS[5] ai:queue:dead  KEYS[6] ai:queue:retention
-- A lease is the member '<entry>|<token>' of the leases set, scored by its
-- deadline: only the holder of the token can remove or renew it (fencing).

-- Moves retries that are due to the consuming end of the pending list.
local function promoteDueRetries(nowMs)
  for _, entry in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', nowMs, 'LIMIT', 0, 1000)) do
    redis.call('ZREM', KEYS[4], entry)
    redis.call('RPUSH', KEYS[1], entry)
  end
end

-- Starts one entry: every copy to `running`, attempts + 1, and a lease.
-- Entries whose job is gone or no longer pending are dropped; a job past its
-- attempt budget (its workers kept dying) fails here. Appends to `claims`.
local function startEntry(entry, c, claims)
  local ws, jobId = splitEntry(entry)
  if not ws then return end
  local copies = jobCopies(ws, jobId)
  if #copies == 0 then return end
  local f = redis.call('HMGET', copies[1], 'status', 'attempts', 'action_provider', 'action_name', 'params', 'actor_id', 'created_at')
  if f[1] ~= 'pending' or not f[7] then return end
  local member = f[7] .. '/' .. jobId
  local attempts = (tonumber(f[2]) or 0) + 1
  if attempts > c.maxAttempts then
    setAll(copies, 'status', 'failed', 'error', 'gave up: the job was interrupted on every attempt', 'updated_at', c.nowIso, 'finished_at', c.nowIso)
    for _, key in ipairs(copies) do redis.call('EXPIRE', key, c.retention) end
    moveStatus(ws, member, 'pending', 'failed')
    redis.call('LPUSH', KEYS[5], entry)
    redis.call('ZADD', KEYS[6], c.nowMs + c.retention * 1000, ws .. '|failed|' .. member)
    return
  end
  setAll(copies, 'status', 'running', 'attempts', attempts, 'started_at', c.nowIso, 'updated_at', c.nowIso)
  moveStatus(ws, member, 'pending', 'running')
  local token = c.workerId .. ':' .. attempts
  redis.call('ZADD', KEYS[3], c.nowMs + c.leaseMs, entry .. '|' .. token)
  claims[#claims + 1] = {entry, token, tostring(attempts), f[3] or '', f[4] or '', f[5] or '{}', f[6] or '', f[7]}
end

-- Claims up to c.maxJobs pending entries. Bounded, so a long run of
-- cancelled entries cannot make one call slow.
local function claimUpTo(c, claims)
  local budget = c.maxJobs * 4 + 100
  while #claims < c.maxJobs and budget > 0 do
    local entry = redis.call('RPOP', KEYS[1])
    if not entry then break end
    startEntry(entry, c, claims)
    budget = budget - 1
  end
end
