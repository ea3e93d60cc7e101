--[[
  claimJobs: promotes due retries, then takes up to ARGV[4] entries off the
  pending list and starts them: every copy of each job goes to `running`
  with attempts + 1, and the entry gets a lease (deadline + owner token).
  Entries whose job is gone, cancelled or no longer pending are dropped.
  A job past its attempt budget (its workers kept dying) fails here.

  Input:
    KEYS[1] ai:queue:pending    KEYS[2] ai:queue:active
    KEYS[3] ai:queue:leases     KEYS[4] ai:queue:lease-owners
    KEYS[5] ai:queue:retry      KEYS[6] ai:queue:dead
    KEYS[7] ai:queue:retention
    ARGV[1] now (ms)  ARGV[2] now (ISO)  ARGV[3] lease (ms)
    ARGV[4] max jobs  ARGV[5] worker id  ARGV[6] entry a blocking wait moved to the active list, or ''
    ARGV[7] max attempts  ARGV[8] retention (s)

  Output: { {entry, token, attempts, provider, name, params, actor_id, created_at}, ... }
]]
-- @include jobCopies
local nowMs, nowIso, leaseMs = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local maxJobs, workerId, maxAttempts, retention = tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[7]), tonumber(ARGV[8])

for _, entry in ipairs(redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', nowMs, 'LIMIT', 0, 1000)) do
  redis.call('ZREM', KEYS[5], entry)
  redis.call('RPUSH', KEYS[1], entry)
end

local claims = {}
local function start(entry)
  local ws, jobId = splitEntry(entry)
  if not ws then return end
  local copies = jobCopies(ws, jobId)
  if #copies == 0 then return end
  local f = redis.call('HMGET', copies[1], 'status', 'attempts', 'action_provider', 'action_name', 'params', 'actor_id', 'created_at')
  if f[1] ~= 'pending' then return end
  local member = f[7] .. '/' .. jobId
  local attempts = (tonumber(f[2]) or 0) + 1
  if attempts > maxAttempts then
    setAll(copies, 'status', 'failed', 'error', 'gave up: the job was interrupted on every attempt', 'updated_at', nowIso, 'finished_at', nowIso)
    for _, key in ipairs(copies) do redis.call('EXPIRE', key, retention) end
    moveStatus(ws, member, 'pending', 'failed')
    redis.call('LPUSH', KEYS[6], entry)
    redis.call('ZADD', KEYS[7], nowMs + retention * 1000, ws .. '|failed|' .. member)
    return
  end
  setAll(copies, 'status', 'running', 'attempts', attempts, 'started_at', nowIso, 'updated_at', nowIso)
  moveStatus(ws, member, 'pending', 'running')
  local token = workerId .. ':' .. attempts
  redis.call('ZADD', KEYS[3], nowMs + leaseMs, entry)
  redis.call('HSET', KEYS[4], entry, token)
  claims[#claims + 1] = {entry, token, tostring(attempts), f[3] or '', f[4] or '', f[5] or '{}', f[6] or '', f[7]}
end

if ARGV[6] ~= '' and redis.call('LREM', KEYS[2], 1, ARGV[6]) == 1 then start(ARGV[6]) end
-- Bounded, so a long run of cancelled entries cannot make one call slow.
local budget = maxJobs * 4 + 100
while #claims < maxJobs and budget > 0 do
  local entry = redis.call('RPOP', KEYS[1])
  if not entry then break end
  start(entry)
  budget = budget - 1
end
return claims
