--[[
  finishJob: records the outcome of one attempt, only if the caller still
  holds the lease (fencing: a worker whose lease lapsed and was re-delivered
  elsewhere cannot write). Every copy of the job is updated. Then, in the
  same call, claims up to ARGV[10] next jobs for the freed slot (one round
  trip per job instead of two).

  Input:
    KEYS[1] ai:queue:pending    KEYS[2] ai:queue:active
    KEYS[3] ai:queue:leases     KEYS[4] ai:queue:retry
    KEYS[5] ai:queue:dead       KEYS[6] ai:queue:retention
    ARGV[1] entry  ARGV[2] lease token  ARGV[3] outcome: succeeded | failed | retry
    ARGV[4] now (ISO, for the records)  ARGV[5] unused (the clock is Redis TIME)  ARGV[6] result (JSON text, for succeeded)
    ARGV[7] error (safe message, for failed/retry)  ARGV[8] retention (s)  ARGV[9] retry delay (ms)
    ARGV[10] jobs to claim next (0 for none)  ARGV[11] worker id  ARGV[12] lease (ms)  ARGV[13] max attempts
    ARGV[14] the job's created_at (from its claim; it never changes)

  Output: {'done' | 'lost' (lease not held) | 'gone' (record expired), created_at or '', {claims as in claimJobs}}
]]
-- @include jobCopies
-- @include claimCore
local entry, token, outcome, nowIso, nowMs = ARGV[1], ARGV[2], ARGV[3], ARGV[4], redisNowMs()
local retention = tonumber(ARGV[8])

local function record()
  if redis.call('ZREM', KEYS[3], entry .. '|' .. token) == 0 then return 'lost', '' end
  local ws, jobId = splitEntry(entry)
  local copies = jobCopies(ws, jobId)
  if #copies == 0 then return 'gone', '' end
  local createdAt = ARGV[14]
  local member = createdAt .. '/' .. jobId
  if outcome == 'retry' then
    setAll(copies, 'status', 'pending', 'error', ARGV[7], 'updated_at', nowIso)
    moveStatus(ws, member, 'running', 'pending')
    redis.call('ZADD', KEYS[4], nowMs + tonumber(ARGV[9]), entry)
    return 'done', createdAt
  end
  if outcome == 'succeeded' then
    setAll(copies, 'status', 'succeeded', 'result', ARGV[6], 'error', '', 'updated_at', nowIso, 'finished_at', nowIso)
  else
    setAll(copies, 'status', 'failed', 'error', ARGV[7], 'updated_at', nowIso, 'finished_at', nowIso)
    redis.call('LPUSH', KEYS[5], entry)
  end
  for _, key in ipairs(copies) do redis.call('EXPIRE', key, retention) end
  moveStatus(ws, member, 'running', outcome)
  redis.call('ZADD', KEYS[6], nowMs + retention * 1000, ws .. '|' .. outcome .. '|' .. member)
  return 'done', createdAt
end

local result, createdAt = record()
local claims = {}
local claimMax = tonumber(ARGV[10])
if claimMax > 0 then
  local c = {
    nowMs = nowMs, nowIso = nowIso, leaseMs = tonumber(ARGV[12]), maxJobs = claimMax,
    workerId = ARGV[11], maxAttempts = tonumber(ARGV[13]), retention = retention,
  }
  promoteDueRetries(nowMs)
  claimUpTo(c, claims)
end
return {result, createdAt, claims}
