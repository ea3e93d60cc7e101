--[[
  finishJobs: records the outcomes of one or more attempts, each only if the
  caller still holds its lease (fencing: a worker whose lease lapsed and was
  re-delivered elsewhere cannot write). Every copy of each job is updated.
  Then, in the same call, claims up to ARGV[3] next jobs for the freed slots:
  a busy worker spends one script call per batch of finished jobs.

  Input:
    KEYS[1] ai:queue:pending    KEYS[2] ai:queue:active
    KEYS[3] ai:queue:leases     KEYS[4] ai:queue:retry
    KEYS[5] ai:queue:dead       KEYS[6] ai:queue:retention
    ARGV[1] now (ISO, for the records)  ARGV[2] retention (s)
    ARGV[3] jobs to claim next (0 for none)  ARGV[4] worker id  ARGV[5] lease (ms)  ARGV[6] max attempts
    then 7 per job: entry, lease token, outcome (succeeded | failed | retry),
      result (JSON text, for succeeded), error (safe message, for failed/retry),
      retry delay (ms), created_at (from the claim; it never changes)

  Output: {{per job: 'done' | 'lost' (lease not held) | 'gone' (record expired)}, {claims as in claimJobs},
            writes skipped (as in claimJobs)}
  An error, with nothing changed, when ai:queue:leases holds another type.
]]
-- @include jobCopies
-- @include claimCore
local broken = leasesKeyError()
if broken then return broken end
local nowIso, retention, nowMs = ARGV[1], tonumber(ARGV[2]), redisNowMs()
-- One context for the call: its retention expiry serves the outcomes too.
local c = claimContext(nowMs, nowIso, tonumber(ARGV[5]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[6]), retention)

local function record(entry, token, outcome, result, err, retryDelay, createdAt)
  if redis.call('ZREM', KEYS[3], entry .. '|' .. token) == 0 then return 'lost' end
  local ws, jobId = splitEntry(entry)
  local copies = jobCopies(ws, jobId)
  if #copies == 0 then return 'gone' end
  local member = createdAt .. '/' .. jobId
  if outcome == 'retry' then
    setAll(copies, 'status', 'pending', 'error', err, 'updated_at', nowIso)
    queueMoveStatus(ws, member, 'running', 'pending')
    local scheduled = redis.pcall('ZADD', KEYS[4], nowMs + tonumber(retryDelay), entry)
    if type(scheduled) == 'table' and scheduled.err then
      -- The retry set is broken: retry at once rather than leave the job with no queue entry.
      skippedWrites = skippedWrites + 1
      redis.call('RPUSH', KEYS[1], entry)
    end
    return 'done'
  end
  if outcome == 'succeeded' then
    setAll(copies, 'status', 'succeeded', 'result', result, 'error', '', 'updated_at', nowIso, 'finished_at', nowIso)
  else
    setAll(copies, 'status', 'failed', 'error', err, 'updated_at', nowIso, 'finished_at', nowIso)
    writeOrCount('LPUSH', KEYS[5], entry)
  end
  for _, key in ipairs(copies) do redis.call('EXPIRE', key, ARGV[2]) end
  queueMoveStatus(ws, member, 'running', outcome)
  queueZsetWrite('ZADD', KEYS[6], c.expiresAt, ws .. '|' .. outcome .. '|' .. member)
  return 'done'
end

local results = {}
for i = 7, #ARGV, 7 do
  results[#results + 1] = record(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6])
end
-- Before claiming: a retried job may be claimed again in this same call.
flushZsetWrites()

local claims = {}
if c.maxJobs > 0 then
  promoteDueRetries(nowMs)
  claimUpTo(c, claims)
end
return {results, claims, skippedWrites}
