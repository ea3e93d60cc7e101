-- claim: starting pending jobs, shared by claimJobs and finishJobs (which
-- claims the next jobs in the same call).
-- @requires clock entries copies statusIndex retention writeBatch rotation events
-- Expects KEYS laid out as both scripts document:
--   KEYS[1] pending list  KEYS[2] active list  KEYS[3] lease set
--   KEYS[4] retry set     KEYS[5] dead letters KEYS[6] expiring workspaces (the expiry sweep's registry)
-- A lease is the member '<entry>|<token>' of the lease set, scored by its
-- deadline: only the holder of the token can remove or renew it (fencing).
-- The claim context (claimContext) carries the call's clock, its limits and
-- its write batch; every job of one call shares them. A start appends a
-- `started` event, a give-up a `dead_lettered` one (events.lua; the calling
-- script sets the stream's cap). Which workspace goes
-- next is the rotation's (rotation.lua): a claim drains the pending list into
-- the workspaces' lists, promotes due retries and delayed jobs to the front
-- of theirs, then serves the lowest pass, up to its share, its cap and the
-- call's budget, and again.
-- Defines: leasesKeyError, DRAIN_PER_CLAIM, claimContext, holdBack, scheduleOf, runningOf,
-- rateLimitedUntil, GAVE_UP, startEntry, serveLowest, claimUpTo, heldBackRows.

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

-- Pending entries a claim moves to the workspaces' lists per call: a few ms
-- of Redis at most, so a backlog of B entries not yet drained reaches the
-- rotation within ceil(B / 10,000) claims.
local DRAIN_PER_CLAIM = 10000

-- nowMs from redisNowMs(); the ISO time and deadlines are formatted once per call.
-- scheduling: {defaultCap = WORKSPACE_MAX_RUNNING, readSchedule = workers
-- published WORKSPACE_LIMITS overrides, rateRules = parseRateRules(...)}.
-- startNow: how many of the maxJobs claimed start now; the rest are prefetched (WORKER_PREFETCH): leased
-- for this worker, still `pending` until the worker starts one and says so in its next call.
local function claimContext(nowMs, leaseMs, maxJobs, workerId, maxAttempts, retention, writes, scheduling, startNow)
  return {
    nowMs = nowMs, nowIso = isoFromMs(nowMs), maxJobs = maxJobs, startNow = startNow or maxJobs, workerId = workerId, maxAttempts = maxAttempts,
    retention = retention, leaseDeadline = string.format('%d', nowMs + leaseMs), writes = writes,
    -- {entry, attempts, provider, name} of jobs this call failed for their spent attempts (dead letters).
    gaveUp = {},
    defaultCap = scheduling.defaultCap, readSchedule = scheduling.readSchedule, rateRules = scheduling.rateRules,
    countsKept = scheduling.defaultCap > 0 or scheduling.readSchedule,
    -- Per workspace, read once per call: {weight, cap}, the running count before this call, jobs started here.
    schedule = {}, runningBefore = {}, started = {},
    -- 'reason|workspace' → times work was held back; a rate window found full → when it frees.
    held = {}, rateFull = {},
  }
end

local function holdBack(c, reason, ws)
  local key = reason .. '|' .. ws
  c.held[key] = (c.held[key] or 0) + 1
end

-- {weight, cap} of a workspace: the workers' published WORKSPACE_LIMITS
-- ('<weight> <max_running>'), else weight 1 and WORKSPACE_MAX_RUNNING.
local function scheduleOf(c, ws)
  local s = c.schedule[ws]
  if s then return s end
  s = {weight = 1, cap = c.defaultCap}
  if c.readSchedule then
    local v = redis.pcall('HGET', Keys.workspaceSchedule, ws)
    if type(v) == 'string' then
      local weight, cap = string.match(v, '^(%S+) (%S+)$')
      s.weight = math.max(tonumber(weight) or 1, 0.001)
      s.cap = tonumber(cap) or s.cap
    end
  end
  c.schedule[ws] = s
  return s
end

local function runningOf(c, ws)
  local before = c.runningBefore[ws]
  if not before then
    local v = redis.pcall('HGET', Keys.runningCounts, ws)
    before = type(v) == 'string' and tonumber(v) or 0
    c.runningBefore[ws] = before
  end
  return before + (c.started[ws] or 0)
end

-- When the job may start under ACTION_RATE_LIMITS, nil; else the time (ms)
-- its window frees. A start is logged in each of its rules' windows (every
-- rule matching the action: its own id and its provider's '.*').
local function rateLimitedUntil(c, ws, entry, provider, name)
  if next(c.rateRules) == nil then return nil end
  local matching = {}
  for _, id in ipairs({provider .. '.' .. name, provider .. '.*'}) do
    local rule = c.rateRules[id]
    if rule then matching[#matching + 1] = {key = Keys.actionRateWindow(ws, id), rule = rule} end
  end
  local frees
  for _, m in ipairs(matching) do
    local full = c.rateFull[m.key]
    if not full then
      redis.call('ZREMRANGEBYSCORE', m.key, '-inf', c.nowMs - m.rule.window)
      if redis.call('ZCARD', m.key) >= m.rule.limit then
        local oldest = redis.call('ZRANGE', m.key, 0, 0, 'WITHSCORES')
        full = tonumber(oldest[2]) + m.rule.window
        c.rateFull[m.key] = full
      end
    end
    if full then frees = math.max(frees or 0, full) end
  end
  if frees then return frees end
  for _, m in ipairs(matching) do
    redis.call('ZADD', m.key, c.nowMs, entry .. '@' .. c.nowMs)
    redis.call('PEXPIRE', m.key, m.rule.window)
  end
  return nil
end

-- The error a job gets when a claim finds its attempts spent (its workers kept dying).
local GAVE_UP = 'gave up: the job was interrupted on every attempt'

-- Starts one entry: every copy to `running`, attempts + 1, and a lease (a
-- prefetched entry: the lease only, see claimContext).
-- Entries whose job is gone or no longer pending are dropped; a job past its
-- attempt budget (its workers kept dying) fails here; a job over a rate
-- limit waits in the delayed set until its window frees, using no attempt.
-- Appends to `claims`; true when the job started.
local function startEntry(entry, c, claims)
  local ws, jobId = splitEntry(entry)
  if not ws then return false end
  -- The copies the previous job had say which to read first (the migration phase, in effect).
  local read = c.legacyOnly and readCopiesLegacyFirst or readCopies
  local copies, f, legacyOnly = read(ws, jobId, 'status', 'attempts', 'action_provider', 'action_name', 'params', 'actor_id', 'created_at', 'run_at', 'deferrals')
  c.legacyOnly = legacyOnly
  if f[1] ~= 'pending' or not f[7] then return false end
  local member = indexMember(f[7], jobId)
  local attemptNumber = (tonumber(f[2]) or 0) + 1
  -- As text once: every write below would otherwise have Redis format the number again.
  local attempts = tostring(attemptNumber)
  local provider, name = f[3] or '', f[4] or ''
  local writes = c.writes
  if attemptNumber > c.maxAttempts then
    setAll(copies, 'status', 'failed', 'error', GAVE_UP, 'updated_at', c.nowIso, 'finished_at', c.nowIso)
    expireAll(copies, c.retention)
    batchMoveStatus(writes, ws, member, 'pending', 'failed')
    writes:tryWrite('LPUSH', KEYS[5], entry)
    sweepLater(writes, KEYS[6], ws)
    c.gaveUp[#c.gaveUp + 1] = {entry, f[2] or '0', provider, name}
    -- Its last attempt was the one interrupted: the attempts are spent.
    appendEventWith(ws, 'dead_lettered', jobId, provider .. '.' .. name, 'failed', f[2] or '0', c.nowIso, 'error', GAVE_UP)
    return false
  end
  local frees = rateLimitedUntil(c, ws, entry, provider, name)
  -- (A delayed set of another type: the job starts rather than wait with no entry anywhere.)
  if frees and writes:tryWrite('ZADD', Keys.delayedQueue, frees, entry) then
    holdBack(c, 'rate_limit', ws)
    return false
  end
  -- A prefetched job is leased (and counts against its workspace's cap) but not started: no write to its record.
  local prefetched = #claims >= c.startNow
  if not prefetched then
    setAll(copies, 'status', 'running', 'attempts', attempts, 'started_at', c.nowIso, 'updated_at', c.nowIso)
    batchMoveStatus(writes, ws, member, 'pending', 'running')
  end
  local token = c.workerId .. ':' .. attempts
  writes:zadd(KEYS[3], c.leaseDeadline, leaseMember(entry, token))
  c.started[ws] = (c.started[ws] or 0) + 1
  claims[#claims + 1] = {entry, token, attempts, provider, name, f[5] or '{}', f[6] or '', f[7], prefetched and '' or c.nowIso, f[8] or '', f[9] or '0'}
  if not prefetched then appendEvent(ws, 'started', jobId, provider .. '.' .. name, 'running', attempts, c.nowIso) end
  return true
end

-- Serves the workspace with the lowest pass: as many jobs as keep its pass
-- at most the next one's (at least one), within its cap, the call's want
-- and budget. Returns the entries it popped (0 when it had none left).
local function serveLowest(c, claims, low, budget)
  local ws, pass = low[1], tonumber(low[2])
  local s = scheduleOf(c, ws)
  local want = math.min(c.maxJobs - #claims, budget)
  if s.cap > 0 then
    local free = s.cap - runningOf(c, ws)
    if free <= 0 then
      redis.call('ZREM', Keys.readyWorkspaces, ws)
      redis.call('SADD', Keys.cappedWorkspaces, ws)
      holdBack(c, 'max_running', ws)
      return 0
    end
    want = math.min(want, free)
  end
  if low[4] then want = math.min(want, math.max(1, math.ceil((tonumber(low[4]) - pass) * s.weight))) end
  local entries = redis.pcall('RPOP', Keys.workspaceQueue(ws), want)
  if type(entries) ~= 'table' or entries.err then
    -- Empty (or not a list: its entries cannot be served, and must not stall the rotation).
    redis.call('ZREM', Keys.readyWorkspaces, ws)
    return 0
  end
  local started = 0
  for _, entry in ipairs(entries) do
    if startEntry(entry, c, claims) then started = started + 1 end
  end
  pass = pass + started / s.weight
  -- A short pop means the list is empty: out of the rotation. (A list emptied by a full pop leaves
  -- at the next claim's pop: no LLEN on the hot path.)
  if #entries < want then
    redis.call('ZREM', Keys.readyWorkspaces, ws)
    -- Where the next workspace joins when none waits.
    if redis.call('ZCARD', Keys.readyWorkspaces) == 0 then redis.call('SET', Keys.rotationPass, pass) end
  else
    redis.call('ZADD', Keys.readyWorkspaces, 'XX', pass, ws)
  end
  return #entries
end

-- Claims up to c.maxJobs jobs in rotation, then flushes the call's writes
-- and running counts. Bounded, so a long run of cancelled or rate-limited
-- entries cannot make one call slow.
local function claimUpTo(c, claims)
  drainPending(DRAIN_PER_CLAIM)
  promoteDue(KEYS[4], c.nowMs)
  promoteDue(Keys.delayedQueue, c.nowMs)
  local budget = c.maxJobs * 4 + 100
  while #claims < c.maxJobs and budget > 0 do
    local low = redis.call('ZRANGE', Keys.readyWorkspaces, 0, 1, 'WITHSCORES')
    if #low == 0 then break end
    budget = budget - math.max(1, serveLowest(c, claims, low, budget))
  end
  -- The budget ran out with slots left (a run of cancelled or rate-limited
  -- entries): more may be waiting, so the worker claims again at once rather
  -- than block on the pending list, which the drain leaves empty.
  c.budgetSpent = #claims < c.maxJobs and budget <= 0
  c.writes:flush()
  -- Running counts serve the caps: kept only while one is set (recovery recounts them every pass).
  if c.countsKept then
    for ws, n in pairs(c.started) do
      if not c.writes:tryWrite('HINCRBY', Keys.runningCounts, ws, n) then break end
    end
  end
end

-- What the call held back, for the worker's metrics: {reason, workspace, times}.
local function heldBackRows(c)
  local rows = {}
  for key, n in pairs(c.held) do
    local reason, ws = string.match(key, '^([^|]+)|(.*)$')
    rows[#rows + 1] = {reason, ws, n}
  end
  return rows
end
