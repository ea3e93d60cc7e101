--[[
  createJobs: creates the jobs of one or more submit requests. Each request
  is atomic on its own: every record copy, index entry, queue entry and its
  idempotency key are written, or nothing of it is. All of a request's
  preconditions are checked before its first write, because neither Lua nor
  MULTI rolls back after a runtime error. Every key a request reads or
  writes has its type checked before it is touched, so no command here can
  raise (and Redis denies a write for memory only before a script's first
  write): a call either writes nothing or writes every request it answers
  'created'. (The event streams are not checked, which would cost a read per
  request: an append that fails is skipped and counted instead.) Requests
  that arrive together share one call (CreateBatcher); one request's
  refusal does not touch the others.

  Input:
    KEYS[1]  the pending list
    KEYS[2]  the delayed set (delayedQueue)
    then per request, in request order:
      workspaceStatusIndex(ws, 'pending')
      idempotency(ws, client_request_id)   (used only when its flag is '1')
      the record keys each job gets, in job order: legacyJob(id) when its
      copies include L, then scopedJob(ws, id) when they include S
    (key names are RedisKeys' in libs/redis/src/redis-keys.ts, here and in
    every script; scripts build the names they compute with the generated
    `Keys` table, never by spelling them)

    ARGV[1]  idempotency TTL, seconds
    ARGV[2]  EVENTS_MAX_LEN (events.lua)
    then per request, in the same order:
      workspace id
      '1' when the request carries a client_request_id
      request hash (payload fingerprint; '' without a client_request_id)
      client_request_id ('' when none)
      the workspace's stored-jobs quota (0: none)
      job count
      then 7 per job: copies ('L', 'S' or 'LS'), job id, actor id,
        action provider, action name, params (JSON text), delay:
        ''              none: queued at once
        'in:<ms>'       due <ms> after Redis's now (delay_ms)
        'at:<epoch ms>' due at that instant (run_at)

  The fields a new job starts with are written here (status pending,
  attempts 0, empty result, error and times), so a call carries only what
  varies; job-record.ts JOB_FIELDS lists the same fields. created_at is
  Redis's clock (TIME), shared by every job of the call.

  A job due later than that now gets run_at (its due time, ISO 8601) and
  its queue entry goes to the delayed set, scored by the due time (ms),
  instead of the pending list; the worker's claims move it once due. A
  job due now or earlier is queued at once; its run_at is the time given
  for 'at:' (so the view shows what was asked), '' otherwise.

  Every job created gets a `created` event in its workspace's stream
  (events.lua): status pending, attempt 0, at created_at, and run_at when
  its record has one.

  Output: one reply per request, in request order:
    {'created', created_at, events skipped (a stream key of another type in the way; 0)}
    {'replayed', job_id, status, created_at}   same key, same payload: the original
    {'mismatch'}                               same key, different payload
    {'gone', job_id}                           same key, but its job has expired: never a second job
    {'quota', stored, quota}                   the workspace would store more jobs than its quota
    {'refused', reason}                        a precondition failed; nothing of it written

  A job's one index entry is in its workspace's pending index (a listing
  without a status filter merges the status indexes: listJobs.lua).
  request_hash is written only where it is read: on a job with a
  client_request_id (the replay check), and on every job with a legacy
  copy, where '' marks the record as Relay's own for the predecessor sweep
  (indexLegacyJobs.lua; both copies alike, so that they stay identical). A
  job written to the scoped schema alone without a client_request_id has
  none: a field (~55 B) less.

  Reads job copies of an existing idempotency key, and (with a quota) the
  workspace's other status indexes, by computed name (not in KEYS): fine on
  one Redis primary; the Cluster plan adds hash tags.
]]
-- @include clock
-- @include keys
-- @include entries
-- @include events
local PER_JOB = 7
local PER_REQUEST = 6
-- The status indexes a workspace's stored jobs are in (the quota's count).
local JOB_STATUS_LIST = {'pending', 'running', 'succeeded', 'failed', 'cancelled'}
local idempotencyTtl = tonumber(ARGV[1])
useEventStream(ARGV[2])
local nowMs = redisNowMs()
local createdAt = isoFromMs(nowMs)

local function holdsOnly(key, wanted)
  local t = redis.call('TYPE', key)['ok']
  return t == 'none' or t == wanted
end

-- The record an idempotency key names, if it still exists. A record key of
-- another type is reported (nil, reason) instead of read: a read of it would
-- raise, and a raise after an earlier request of the call wrote would fail
-- that request too.
local function existingCopy(ws, jobId)
  local scoped = Keys.scopedJob(ws, jobId)
  local t = redis.call('TYPE', scoped)['ok']
  if t == 'hash' then return scoped end
  if t ~= 'none' then return nil, 'job record holds another type' end
  local legacy = Keys.legacyJob(jobId)
  t = redis.call('TYPE', legacy)['ok']
  if t == 'none' then return nil end
  if t ~= 'hash' then return nil, 'job record holds another type' end
  if redis.call('HGET', legacy, 'workspace_id') == ws then return legacy end
  return nil
end

-- Variadic commands in chunks that stay well inside Lua's stack limit.
local function callChunked(command, key, args)
  for first = 1, #args, 1000 do
    redis.call(command, key, unpack(args, first, math.min(first + 999, #args)))
  end
end

-- The queue list's and the delayed set's types, each checked once per call
-- (requests only add entries to them); the delayed set only once a job needs it.
local queueOk, delayedOk = nil, nil

-- A job's delay ARGV as (due ms or nil, run_at); nil, nil when malformed.
local function dueTime(delay)
  if delay == '' then return nil, '' end
  local kind, ms = string.match(delay, '^(%a+):(%-?%d+)$')
  ms = tonumber(ms)
  if not ms then return nil, nil end
  if kind == 'in' then
    if ms <= 0 then return nil, '' end
    return nowMs + ms, isoFromMs(nowMs + ms)
  end
  if kind ~= 'at' then return nil, nil end
  if ms <= nowMs then return nil, isoFromMs(ms) end
  return ms, isoFromMs(ms)
end

-- One request: a = index of its first ARGV, k = index of its first KEY
-- (its pending index); jobCount and recordKeys as computed by the caller.
local function createRequest(a, k, jobCount, recordKeys)
  local ws, hasIdem = ARGV[a], ARGV[a + 1] == '1'
  local requestHash, clientRequestId, quota = ARGV[a + 2], ARGV[a + 3], tonumber(ARGV[a + 4])
  local statusKey, idemKey = KEYS[k], KEYS[k + 1]
  local firstJob = a + PER_REQUEST

  -- 1. Idempotency: a live key answers the request. Its job exists (a replay
  -- or a mismatch) or has expired (retention can be shorter than the key's
  -- 24 h): a key is only ever written with its job, so a missing job is gone,
  -- and the repeat must not create a second one.
  if hasIdem then
    if not holdsOnly(idemKey, 'string') then return {'refused', 'idempotency key holds another type'} end
    local firstId = redis.call('GET', idemKey)
    if firstId then
      local copy, broken = existingCopy(ws, firstId)
      if broken then return {'refused', broken} end
      if not copy then return {'gone', firstId} end
      local f = redis.call('HMGET', copy, 'request_hash', 'status', 'created_at')
      if f[1] ~= requestHash then return {'mismatch'} end
      return {'replayed', firstId, f[2] or '', f[3] or ''}
    end
  end

  -- 2. Every other precondition, before any write: the keys hold the right
  -- types, and no record key of these jobs exists (one EXISTS for all of them).
  if queueOk == nil then queueOk = holdsOnly(KEYS[1], 'list') end
  if not queueOk then return {'refused', 'queue key holds another type'} end
  if not holdsOnly(statusKey, 'zset') then return {'refused', 'status index holds another type'} end
  -- Every stored job of the workspace is in one of its status indexes (until
  -- the expiry sweep drops expired ones), so their sizes are the quota's count.
  -- (pcall: an index of another type, corruption, counts nothing rather than raise.)
  if quota > 0 then
    local stored = 0
    for _, status in ipairs(JOB_STATUS_LIST) do
      local n = redis.pcall('ZCARD', Keys.workspaceStatusIndex(ws, status))
      if type(n) == 'number' then stored = stored + n end
    end
    if stored + jobCount > quota then return {'quota', tostring(stored), tostring(quota)} end
  end
  -- entries: for the pending list; delayed: score/entry pairs for the delayed set.
  local members, entries, delayed, runAts = {}, {}, {}, {}
  for i = 0, jobCount - 1 do
    local base = firstJob + i * PER_JOB
    local jobId = ARGV[base + 1]
    members[#members + 1] = '0' -- a string: a Lua number would be formatted on every use
    members[#members + 1] = createdAt .. '/' .. jobId
    local due, runAt = dueTime(ARGV[base + 6])
    if not runAt then return {'refused', 'job delay is malformed'} end
    runAts[i] = runAt
    if due then
      delayed[#delayed + 1] = due
      delayed[#delayed + 1] = queueEntry(ws, jobId)
    else
      entries[#entries + 1] = queueEntry(ws, jobId)
    end
  end
  if #delayed > 0 then
    if delayedOk == nil then delayedOk = holdsOnly(KEYS[2], 'zset') end
    if not delayedOk then return {'refused', 'delayed set holds another type'} end
  end
  local firstRecord, lastRecord = k + 2, k + 1 + recordKeys
  for first = firstRecord, lastRecord, 1000 do
    if redis.call('EXISTS', unpack(KEYS, first, math.min(first + 999, lastRecord))) > 0 then
      return {'refused', 'job id already exists'}
    end
  end

  -- 3. Writes.
  -- run_at only on a job given a due time, request_hash only where it is
  -- read (see above): each field costs ~55 B a record, and a 17th would grow
  -- the hash table besides (16 → 32 buckets, ~300 B a job; bench "memory").
  local NO_FIELD, HASH_ONLY = {}, {'request_hash', requestHash}
  local function writeRecord(key, base, runAt, withHash)
    local extra = NO_FIELD
    if withHash then
      extra = runAt == '' and HASH_ONLY or {'request_hash', requestHash, 'run_at', runAt}
    elseif runAt ~= '' then
      extra = {'run_at', runAt}
    end
    redis.call('HSET', key,
      'job_id', ARGV[base + 1], 'workspace_id', ws, 'actor_id', ARGV[base + 2],
      'action_provider', ARGV[base + 3], 'action_name', ARGV[base + 4], 'params', ARGV[base + 5],
      'status', 'pending', 'attempts', '0', 'result', '', 'error', '',
      'client_request_id', clientRequestId, 'created_at', createdAt, 'updated_at', createdAt,
      'started_at', '', 'finished_at', '', unpack(extra))
  end
  local nextKey = firstRecord
  for i = 0, jobCount - 1 do
    local base = firstJob + i * PER_JOB
    local copies = ARGV[base]
    local withHash = hasIdem or copies ~= 'S'
    if copies ~= 'S' then writeRecord(KEYS[nextKey], base, runAts[i], withHash); nextKey = nextKey + 1 end
    if copies ~= 'L' then writeRecord(KEYS[nextKey], base, runAts[i], withHash); nextKey = nextKey + 1 end
  end
  callChunked('ZADD', statusKey, members)
  if #entries > 0 then callChunked('LPUSH', KEYS[1], entries) end
  if #delayed > 0 then callChunked('ZADD', KEYS[2], delayed) end
  if hasIdem then redis.call('SET', idemKey, ARGV[firstJob + 1], 'EX', idempotencyTtl) end
  local skippedBefore = eventsSkipped()
  for i = 0, jobCount - 1 do
    local base = firstJob + i * PER_JOB
    local runAt = runAts[i]
    appendEvent(ws, 'created', ARGV[base + 1], ARGV[base + 3] .. '.' .. ARGV[base + 4], 'pending', '0', createdAt, runAt ~= '' and {'run_at', runAt} or nil)
  end
  return {'created', createdAt, eventsSkipped() - skippedBefore}
end

local replies = {}
local a, k = 3, 3
while a <= #ARGV do
  local jobCount = tonumber(ARGV[a + 5])
  -- Record keys of this request: one per L and one per S in its copies.
  local recordKeys = 0
  for i = 0, jobCount - 1 do recordKeys = recordKeys + #ARGV[a + PER_REQUEST + i * PER_JOB] end
  replies[#replies + 1] = createRequest(a, k, jobCount, recordKeys)
  a = a + PER_REQUEST + jobCount * PER_JOB
  k = k + 2 + recordKeys
end
return replies
