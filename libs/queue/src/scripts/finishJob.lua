--[[
  finishJob: records the outcome of one attempt, only if the caller still
  holds the lease (fencing: a worker whose lease lapsed and was re-delivered
  elsewhere cannot write). Every copy of the job is updated.

  Input:
    KEYS[1] ai:queue:leases  KEYS[2] ai:queue:lease-owners  KEYS[3] ai:queue:retry
    KEYS[4] ai:queue:dead    KEYS[5] ai:queue:retention
    ARGV[1] entry  ARGV[2] lease token  ARGV[3] outcome: succeeded | failed | retry
    ARGV[4] now (ISO)  ARGV[5] now (ms)  ARGV[6] result (JSON text, for succeeded)
    ARGV[7] error (safe message, for failed/retry)  ARGV[8] retention (s)  ARGV[9] retry due (ms)

  Output: {'done', created_at} | {'lost'} (lease not held) | {'gone'} (job record expired)
]]
-- @include jobCopies
local entry, token, outcome, nowIso, nowMs = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])
if redis.call('HGET', KEYS[2], entry) ~= token then return {'lost'} end
redis.call('ZREM', KEYS[1], entry)
redis.call('HDEL', KEYS[2], entry)

local ws, jobId = splitEntry(entry)
local copies = jobCopies(ws, jobId)
if #copies == 0 then return {'gone'} end
local createdAt = redis.call('HGET', copies[1], 'created_at')
local member = createdAt .. '/' .. jobId
local retention = tonumber(ARGV[8])

if outcome == 'retry' then
  setAll(copies, 'status', 'pending', 'error', ARGV[7], 'updated_at', nowIso)
  moveStatus(ws, member, 'running', 'pending')
  redis.call('ZADD', KEYS[3], tonumber(ARGV[9]), entry)
  return {'done', createdAt}
end

if outcome == 'succeeded' then
  setAll(copies, 'status', 'succeeded', 'result', ARGV[6], 'error', '', 'updated_at', nowIso, 'finished_at', nowIso)
else
  setAll(copies, 'status', 'failed', 'error', ARGV[7], 'updated_at', nowIso, 'finished_at', nowIso)
  redis.call('LPUSH', KEYS[4], entry)
end
for _, key in ipairs(copies) do redis.call('EXPIRE', key, retention) end
moveStatus(ws, member, 'running', outcome)
redis.call('ZADD', KEYS[5], nowMs + retention * 1000, ws .. '|' .. outcome .. '|' .. member)
return {'done', createdAt}
