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
    ARGV[9] EVENTS_MAX_LEN (events.lua)
    ARGV[10] how many of the ARGV[2] jobs start now ('' for all; the rest are prefetched, as in claimJobs)
    then 11 per job: entry, lease token, outcome (succeeded | failed | retry | defer | cancelled,
      or start: a prefetched job the worker has started, still running),
      result (JSON text, for succeeded), error (safe message, for failed/retry/defer),
      retry or defer delay (ms), created_at (from the claim; it never changes),
      started_at of the claim when this is a repeat of a finish whose answer
      never came ('*' when that claim was a prefetch: its start was written by
      the call that was repeated; else ''), action ('provider.name', from the claim), and the
      event's detail: for succeeded, the result redacted for the event when
      redaction changed it ('' = the result as it is: the common case costs
      nothing more; '-' = too large for the event, which then says result_omitted); for failed, '1' when the job's attempts are spent (else ''),
      and '1' when the job was prefetched and no reply yet confirmed its start
      (the start is written here if it is still pending, with the outcome), else ''

  Prefetched jobs (WORKER_PREFETCH): a start, or an outcome whose start is
  unconfirmed, finds the job `pending` and writes the start (status, attempts
  = the token's attempt, started_at = now, event `started`); finds it
  `running` (an earlier call wrote the start) and goes on as for any running
  job; or finds it ended (cancelled while prefetched): the lease ends,
  nothing is written, 'cancelled'. A start keeps its lease.

  Events (events.lua), one per recorded outcome, at this call's time, with
  the attempt of the lease token: succeeded (with the redacted result),
  failed (an error that is not retried) or dead_lettered (the attempts are
  spent), each with status failed and the error; retry and defer append
  `retrying` (status pending, error, retry_at, reason 'attempt_failed' | 'deferred').
  A repeat answered 'done', a 'lost' or a 'gone' appends nothing.

  'defer' (the action said "rate limited, retry after N ms"): the job is
  pending again with its attempt given back and `deferrals` + 1, its entry in
  the delayed set until then. Every outcome ends the job's run: its
  workspace's running count goes down (rotation.lua jobsEnded) while caps
  are set (ARGV[6..7]; without caps no count is kept).

  A cancel requested while the job ran (cancelJob; includes/cancel.lua) is
  taken here whatever the outcome: 'cancelled' (the worker stopped the
  attempt for it) ends the job `cancelled`, and so does a 'retry' or
  'defer' (the attempt failed before the worker heard of the cancel: it
  must not run again), with the event `cancelled` (reason 'requested');
  'succeeded' and 'failed' finished first and keep their outcome. A job
  going back to `pending` loses its progress (includes/progress.lua).

  Output: {{per job: 'done' | 'lost' (lease not held) | 'gone' (record expired)
            | 'cancelled' (a retry or defer recorded as cancelled: its cancel was requested; or a
            prefetched job found cancelled)}, {claims as in claimJobs},
            writes skipped (as in claimJobs), {jobs given up (as in claimJobs)}, {held back (as in claimJobs)},
            events skipped (as in claimJobs), the call's time (ISO: started_at of the starts written here)}
  'done' also answers a repeat of a finish that was already recorded (the
  worker retries a call whose reply it never got, e.g. Redis paused): the
  lease is gone, but the record shows this claim's outcome (same attempt,
  same started_at, the outcome's status), so nothing is written again and
  the worker neither warns nor counts twice. Only repeats are checked so:
  any other finish without its lease is 'lost'.
  An error, with nothing changed, when the lease set holds another type.
]]
-- @include claim
-- @include cancel
-- @include progress
local broken = leasesKeyError()
if broken then return broken end
useEventStream(ARGV[9])
local retention = tonumber(ARGV[1])
-- One context for the call: its clock serves the outcomes too.
local c = claimContext(redisNowMs(), tonumber(ARGV[4]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[5]), retention, newWriteBatch(),
  {defaultCap = tonumber(ARGV[6]), readSchedule = ARGV[7] == '1', rateRules = parseRateRules(ARGV[8])}, tonumber(ARGV[10]))
local writes = c.writes
-- Most calls find no cancel request at all: one SCARD instead of an SREM per job.
local cancels = redis.pcall('SCARD', Keys.cancelRequests)
local cancelsWaiting = type(cancels) == 'number' and cancels > 0

-- Where the jobs' ARGV start, and how many each has.
local FIRST_JOB, PER_JOB = 11, 11

-- The status an outcome leaves a job in.
local OUTCOME_STATUS = {succeeded = 'succeeded', failed = 'failed', retry = 'pending', defer = 'pending', cancelled = 'cancelled'}

-- Without the lease, a repeated finish: was its outcome recorded by the
-- earlier try? A claim writes attempts + 1 and started_at (Redis time), so
-- another claim of the job differs in one of them (two claims of one
-- attempt in the same millisecond aside), and the record must hold exactly
-- what this outcome writes: its status, and its result or error (recovery
-- sends a job to the pending list, never to the retry set). true, or
-- 'cancelled' for a retry or deferral that was recorded as cancelled.
local function alreadyRecorded(ws, jobId, entry, token, outcome, startedAt, result, err)
  local attempt = tonumber(string.match(token, ':(%d+)$'))
  if not ws or not attempt or startedAt == '' then return false end
  local copies, f = readCopies(ws, jobId, 'status', 'attempts', 'started_at', 'result', 'error')
  if #copies == 0 or (startedAt ~= '*' and f[3] ~= startedAt) then return false end
  -- A cancelled run keeps its attempt; a retry or deferral was recorded as cancelled when its cancel was requested.
  if f[1] == 'cancelled' and (outcome == 'cancelled' or outcome == 'retry' or outcome == 'defer') then
    if tonumber(f[2]) ~= attempt then return false end
    return outcome == 'cancelled' or 'cancelled'
  end
  -- A deferral gave its attempt back.
  if outcome == 'defer' then attempt = attempt - 1 end
  if tonumber(f[2]) ~= attempt or f[1] ~= OUTCOME_STATUS[outcome] then return false end
  -- And what this outcome wrote (a claim that gave up writes 'failed' with its own error).
  if outcome == 'succeeded' then return f[4] == result end
  if f[5] ~= err then return false end
  if outcome == 'retry' then return type(redis.pcall('ZSCORE', KEYS[4], entry)) == 'string' end
  if outcome == 'defer' then return type(redis.pcall('ZSCORE', Keys.delayedQueue, entry)) == 'string' end
  return true
end

-- Jobs whose run ended in this call, per workspace (their running counts go down before the claim).
local ended = {}

-- Leases of prefetched jobs found cancelled by their start (the other leases end up-front, below).
local endedLeases = {}

-- held: whether the caller holds the job's lease (read for the whole call at once, below).
local function record(held, entry, token, outcome, result, err, retryDelay, createdAt, repeatOf, action, detail, unconfirmedStart)
  local ws, jobId = splitEntry(entry)
  if not held then
    if outcome == 'start' then return 'lost' end
    local recorded = alreadyRecorded(ws, jobId, entry, token, outcome, repeatOf, result, err)
    if recorded == 'cancelled' then return 'cancelled' end
    return recorded and 'done' or 'lost'
  end
  -- The attempt this outcome ends (the token's), for the record and its events.
  -- (Text: Redis takes it as it is, where a number would be formatted for every write.)
  local attempt = string.match(token, ':(%d+)$') or '0'
  -- The start of a prefetched job is written here when its record still says pending.
  local copies, from
  if outcome == 'start' or unconfirmedStart == '1' then
    local f
    copies, f, c.legacyOnly = (c.legacyOnly and readCopiesLegacyFirst or readCopies)(ws, jobId, 'status')
    if #copies > 0 and f[1] ~= 'pending' and f[1] ~= 'running' then
      -- Cancelled while it waited in the worker: no write, the lease ends.
      if outcome == 'start' then endedLeases[#endedLeases + 1] = leaseMember(entry, token) end
      ended[ws] = (ended[ws] or 0) + 1
      return 'cancelled'
    end
    from = f[1] == 'pending' and 'pending' or 'running'
  else
    from = 'running'
  end
  if outcome == 'start' then
    if #copies == 0 then
      endedLeases[#endedLeases + 1] = leaseMember(entry, token)
      ended[ws] = (ended[ws] or 0) + 1
      return 'gone'
    end
    if from == 'pending' then
      setAll(copies, 'status', 'running', 'attempts', attempt, 'started_at', c.nowIso, 'updated_at', c.nowIso)
      batchMoveStatus(writes, ws, indexMember(createdAt, jobId), 'pending', 'running')
      appendEvent(ws, 'started', jobId, action, 'running', attempt, c.nowIso)
    end
    return 'done'
  end
  ended[ws] = (ended[ws] or 0) + 1
  local cancelRequested = cancelsWaiting and takeCancelRequest(entry)
  copies = copies or jobCopies(ws, jobId)
  if #copies == 0 then return 'gone' end
  local member = indexMember(createdAt, jobId)
  if from == 'pending' then
    -- Started and ended since the last call: the start's fields go with the outcome's.
    setAll(copies, 'attempts', attempt, 'started_at', c.nowIso)
    appendEvent(ws, 'started', jobId, action, 'running', attempt, c.nowIso)
  end
  if outcome == 'cancelled' or (cancelRequested and (outcome == 'retry' or outcome == 'defer')) then
    setAll(copies, 'status', 'cancelled', 'updated_at', c.nowIso, 'finished_at', c.nowIso)
    expireAll(copies, retention)
    batchMoveStatus(writes, ws, member, from, 'cancelled')
    sweepLater(writes, KEYS[6], ws)
    appendEventWith(ws, 'cancelled', jobId, action, 'cancelled', attempt, c.nowIso, 'reason', 'requested')
    return outcome == 'cancelled' and 'done' or 'cancelled'
  end
  if outcome == 'defer' then
    local f = redis.call('HMGET', copies[1], 'deferrals')
    setAll(copies, 'status', 'pending', 'attempts', math.max(0, tonumber(attempt) - 1), 'deferrals', (tonumber(f[1]) or 0) + 1,
      'error', err, 'updated_at', c.nowIso)
    clearProgress(copies)
    batchMoveStatus(writes, ws, member, from, 'pending')
    holdBack(c, 'retry_after', ws)
    local due = c.nowMs + tonumber(retryDelay)
    -- The delayed set is broken: run it again now rather than leave the job with no queue entry.
    if not writes:tryWrite('ZADD', Keys.delayedQueue, due, entry) then
      pushFront(ws, entry)
      due = c.nowMs
    end
    appendEvent(ws, 'retrying', jobId, action, 'pending', attempt, c.nowIso, {'error', err, 'retry_at', isoFromMs(due), 'reason', 'deferred'})
    return 'done'
  end
  if outcome == 'retry' then
    setAll(copies, 'status', 'pending', 'error', err, 'updated_at', c.nowIso)
    clearProgress(copies)
    batchMoveStatus(writes, ws, member, from, 'pending')
    local due = c.nowMs + tonumber(retryDelay)
    -- The retry set is broken: retry at once rather than leave the job with no queue entry.
    if not writes:tryWrite('ZADD', KEYS[4], due, entry) then
      pushFront(ws, entry)
      due = c.nowMs
    end
    appendEvent(ws, 'retrying', jobId, action, 'pending', attempt, c.nowIso, {'error', err, 'retry_at', isoFromMs(due), 'reason', 'attempt_failed'})
    return 'done'
  end
  if outcome == 'succeeded' then
    setAll(copies, 'status', 'succeeded', 'result', result, 'error', '', 'updated_at', c.nowIso, 'finished_at', c.nowIso)
    -- '-' (never JSON): the result is too large for the event (EVENT_RESULT_MAX_BYTES).
    if detail == '-' then
      appendEventWith(ws, 'succeeded', jobId, action, 'succeeded', attempt, c.nowIso, 'result_omitted', '1')
    else
      appendEventWith(ws, 'succeeded', jobId, action, 'succeeded', attempt, c.nowIso, 'result', detail ~= '' and detail or result)
    end
  else
    setAll(copies, 'status', 'failed', 'error', err, 'updated_at', c.nowIso, 'finished_at', c.nowIso)
    writes:tryWrite('LPUSH', KEYS[5], entry)
    appendEventWith(ws, detail == '1' and 'dead_lettered' or 'failed', jobId, action, 'failed', attempt, c.nowIso, 'error', err)
  end
  expireAll(copies, retention)
  batchMoveStatus(writes, ws, member, from, outcome)
  -- The record expires; the expiry sweep drops its index entry once it is gone (retention.lua).
  sweepLater(writes, KEYS[6], ws)
  return 'done'
end

-- The leases of the call's jobs: a ZMSCORE to read which are held and a
-- variadic ZREM to end those (per 1,000), instead of a ZREM per job (the
-- set's type was checked above, so neither can fail).
local leases = {}
for i = FIRST_JOB, #ARGV, PER_JOB do leases[#leases + 1] = leaseMember(ARGV[i], ARGV[i + 1]) end
local heldScores = {}
for first = 1, #leases, 1000 do
  local last = math.min(first + 999, #leases)
  local scores = redis.call('ZMSCORE', KEYS[3], unpack(leases, first, last))
  local ending = {}
  for j = first, last do
    heldScores[j] = scores[j - first + 1]
    -- A start keeps its lease: the job runs on.
    if heldScores[j] and ARGV[FIRST_JOB + (j - 1) * PER_JOB + 2] ~= 'start' then ending[#ending + 1] = leases[j] end
  end
  if #ending > 0 then redis.call('ZREM', KEYS[3], unpack(ending)) end
end

local results = {}
for i = FIRST_JOB, #ARGV, PER_JOB do
  local held = heldScores[(i - FIRST_JOB) / PER_JOB + 1] and true or false
  results[#results + 1] = record(held, ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7], ARGV[i + 8], ARGV[i + 9], ARGV[i + 10])
end
if #endedLeases > 0 then redis.call('ZREM', KEYS[3], unpack(endedLeases)) end
-- Before claiming: a retried job may be claimed again in this same call, and the ended jobs' slots count as free.
writes:flush()
if c.countsKept then jobsEnded(ended) end

local claims = {}
if c.maxJobs > 0 then claimUpTo(c, claims) end
return {results, claims, writes.skipped, c.gaveUp, heldBackRows(c), eventsSkipped(), c.nowIso}
