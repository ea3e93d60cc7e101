--[[
  finishJobs: records the outcomes of one or more attempts, each only if the
  caller still holds its lease (fencing: a worker whose lease lapsed and was
  re-delivered elsewhere cannot write). Every copy of each job is updated.
  Then, in the same call, claims up to ARGV[2] next jobs for the freed slots:
  a busy worker spends one script call per batch of finished jobs.
  Times come from Redis TIME.

  Input:
    KEYS[1] pendingQueue   KEYS[2] activeQueue   KEYS[3] leases
    KEYS[4] retryQueue     KEYS[5] deadLetters   KEYS[6] expiringWorkspaces
    ARGV[1] retention (s)
    ARGV[2] jobs to claim next (0 for none)  ARGV[3] worker id  ARGV[4] lease (ms)  ARGV[5] max attempts
    ARGV[6..8] as claimJobs' ARGV[7..9]: WORKSPACE_MAX_RUNNING, '1' when WORKSPACE_LIMITS
      overrides are published, ACTION_RATE_LIMITS ('<rule> <limit> <window ms>' joined by ';')
    then 8 per job: entry, lease token, outcome (succeeded | failed | retry | defer),
      result (JSON text, for succeeded), error (safe message, for failed/retry/defer),
      retry or defer delay (ms), created_at (from the claim; it never changes),
      started_at of the claim when this is a repeat of a finish whose answer
      never came (else '')

  'defer' (the action said "rate limited, retry after N ms"): the job is
  pending again with its attempt given back and `deferrals` + 1, its entry in
  the delayed set until then. Every outcome ends the job's run: its
  workspace's running count goes down (rotation.lua jobsEnded) while caps
  are set (ARGV[6..7]; without caps no count is kept).

  Output: {{per job: 'done' | 'lost' (lease not held) | 'gone' (record expired)}, {claims as in claimJobs},
            writes skipped (as in claimJobs), {jobs given up (as in claimJobs)}, {held back (as in claimJobs)}}
  'done' also answers a repeat of a finish that was already recorded (the
  worker retries a call whose reply it never got, e.g. Redis paused): the
  lease is gone, but the record shows this claim's outcome (same attempt,
  same started_at, the outcome's status), so nothing is written again and
  the worker neither warns nor counts twice. Only repeats are checked so:
  any other finish without its lease is 'lost'.
  An error, with nothing changed, when the lease set holds another type.
]]
-- @include claim
local broken = leasesKeyError()
if broken then return broken end
local retention = tonumber(ARGV[1])
-- One context for the call: its clock serves the outcomes too.
local c = claimContext(redisNowMs(), tonumber(ARGV[4]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[5]), retention, newWriteBatch(),
  {defaultCap = tonumber(ARGV[6]), readSchedule = ARGV[7] == '1', rateRules = parseRateRules(ARGV[8])})
local writes = c.writes

-- The status an outcome leaves a job in.
local OUTCOME_STATUS = {succeeded = 'succeeded', failed = 'failed', retry = 'pending', defer = 'pending'}

-- Without the lease, a repeated finish: was its outcome recorded by the
-- earlier try? A claim writes attempts + 1 and started_at (Redis time), so
-- another claim of the job differs in one of them (two claims of one
-- attempt in the same millisecond aside), and the record must hold exactly
-- what this outcome writes: its status, and its result or error (recovery
-- sends a job to the pending list, never to the retry set).
local function alreadyRecorded(ws, jobId, entry, token, outcome, startedAt, result, err)
  local attempt = tonumber(string.match(token, ':(%d+)$'))
  if not ws or not attempt or startedAt == '' then return false end
  -- A deferral gave its attempt back.
  if outcome == 'defer' then attempt = attempt - 1 end
  local copies, f = readCopies(ws, jobId, 'status', 'attempts', 'started_at', 'result', 'error')
  if #copies == 0 or tonumber(f[2]) ~= attempt or f[3] ~= startedAt or f[1] ~= OUTCOME_STATUS[outcome] then return false end
  -- And what this outcome wrote (a claim that gave up writes 'failed' with its own error).
  if outcome == 'succeeded' then return f[4] == result end
  if f[5] ~= err then return false end
  if outcome == 'retry' then return type(redis.pcall('ZSCORE', KEYS[4], entry)) == 'string' end
  if outcome == 'defer' then return type(redis.pcall('ZSCORE', Keys.delayedQueue, entry)) == 'string' end
  return true
end

-- Jobs whose run ended in this call, per workspace (their running counts go down before the claim).
local ended = {}

-- held: whether the caller holds the job's lease (read for the whole call at once, below).
local function record(held, entry, token, outcome, result, err, retryDelay, createdAt, repeatOf)
  local ws, jobId = splitEntry(entry)
  if not held then
    return alreadyRecorded(ws, jobId, entry, token, outcome, repeatOf, result, err) and 'done' or 'lost'
  end
  ended[ws] = (ended[ws] or 0) + 1
  local copies = jobCopies(ws, jobId)
  if #copies == 0 then return 'gone' end
  local member = indexMember(createdAt, jobId)
  if outcome == 'defer' then
    local f = redis.call('HMGET', copies[1], 'attempts', 'deferrals')
    setAll(copies, 'status', 'pending', 'attempts', math.max(0, (tonumber(f[1]) or 1) - 1), 'deferrals', (tonumber(f[2]) or 0) + 1,
      'error', err, 'updated_at', c.nowIso)
    batchMoveStatus(writes, ws, member, 'running', 'pending')
    holdBack(c, 'retry_after', ws)
    -- The delayed set is broken: run it again now rather than leave the job with no queue entry.
    if not writes:tryWrite('ZADD', Keys.delayedQueue, c.nowMs + tonumber(retryDelay), entry) then pushFront(ws, entry) end
    return 'done'
  end
  if outcome == 'retry' then
    setAll(copies, 'status', 'pending', 'error', err, 'updated_at', c.nowIso)
    batchMoveStatus(writes, ws, member, 'running', 'pending')
    -- The retry set is broken: retry at once rather than leave the job with no queue entry.
    if not writes:tryWrite('ZADD', KEYS[4], c.nowMs + tonumber(retryDelay), entry) then pushFront(ws, entry) end
    return 'done'
  end
  if outcome == 'succeeded' then
    setAll(copies, 'status', 'succeeded', 'result', result, 'error', '', 'updated_at', c.nowIso, 'finished_at', c.nowIso)
  else
    setAll(copies, 'status', 'failed', 'error', err, 'updated_at', c.nowIso, 'finished_at', c.nowIso)
    writes:tryWrite('LPUSH', KEYS[5], entry)
  end
  expireAll(copies, retention)
  batchMoveStatus(writes, ws, member, 'running', outcome)
  -- The record expires; the expiry sweep drops its index entry once it is gone (retention.lua).
  sweepLater(writes, KEYS[6], ws)
  return 'done'
end

-- The leases of the call's jobs: a ZMSCORE to read which are held and a
-- variadic ZREM to end those (per 1,000), instead of a ZREM per job (the
-- set's type was checked above, so neither can fail).
local leases = {}
for i = 9, #ARGV, 8 do leases[#leases + 1] = leaseMember(ARGV[i], ARGV[i + 1]) end
local heldScores = {}
for first = 1, #leases, 1000 do
  local last = math.min(first + 999, #leases)
  local scores = redis.call('ZMSCORE', KEYS[3], unpack(leases, first, last))
  local ending = {}
  for j = first, last do
    heldScores[j] = scores[j - first + 1]
    if heldScores[j] then ending[#ending + 1] = leases[j] end
  end
  if #ending > 0 then redis.call('ZREM', KEYS[3], unpack(ending)) end
end

local results = {}
for i = 9, #ARGV, 8 do
  local held = heldScores[(i - 9) / 8 + 1] and true or false
  results[#results + 1] = record(held, ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7])
end
-- Before claiming: a retried job may be claimed again in this same call, and the ended jobs' slots count as free.
writes:flush()
if c.countsKept then jobsEnded(ended) end

local claims = {}
if c.maxJobs > 0 then claimUpTo(c, claims) end
return {results, claims, writes.skipped, c.gaveUp, heldBackRows(c)}
