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

  Writes are grouped per call. A request answered 'created' writes its
  records, its `created` events and its idempotency key in its turn; the
  entries it adds to the pending list, the delayed set and its status index
  are gathered and written once every request has had its turn, one command
  per key (in chunks), in request order: the list, sets and indexes end
  exactly as per-request LPUSH/ZADD would leave them (each key's type was
  checked before the first write of the request that first used it, and
  nothing in the call writes these keys before the end, so these cannot
  raise either). A
  later request of the call sees an earlier one's records and idempotency
  key (a replay), and its quota counts the index entries gathered for its
  workspace so far. Key types are checked once per key per call (requests
  only add to these keys), and one EXISTS over every record key of the call
  stands for each request's own check when it finds none.

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

  Output: one reply per request, in request order (the list and set entries
  of the 'created' ones written after the last request's turn, as above):
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
-- A pending index member is '<created_at>/<job_id>'; every job of the call shares the prefix.
local memberPrefix = createdAt .. '/'

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

-- A job's delay ARGV ('' handled by the caller) as (due ms or nil, run_at);
-- nil, nil when malformed.
local function dueTime(delay)
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

-- State of the call. The queue list's and the delayed set's types are
-- checked once per call, each status index's once per key (the delayed set
-- only once a job needs it): requests only add entries to them, and those
-- entries are written at the end of the call, so a type found 'none' or
-- right stays so until then.
local queueOk, delayedOk = nil, nil
local indexOk = {}
-- What the requests answered 'created' add to the list and sets, gathered
-- for one command per key at the end (callChunked): the pending list's
-- entries in the order per-request LPUSHes gave (LPUSH a b c pushes a, then
-- b, then c), the delayed set's score/entry pairs, and per status index key
-- (in the order first used) its '0'/member pairs.
local pendingEntries, delayedPairs = {}, {}
local indexKeys, indexMembers = {}, {}
-- One request's due times and run_ats by job (0-based), reused by the next.
local dues, runAts = {}, {}
-- The event's run_at pair of a delayed job (appendEvent copies it).
local runAtExtra = {'run_at', ''}
-- The HSET of a new record, built once: the fields every job starts with
-- are fixed here, and the slots that vary are overwritten per record (2
-- key, 4 job_id, 6 workspace_id, 8 actor_id, 10 action_provider, 12
-- action_name, 14 params, 24 client_request_id, then from 33 the optional
-- request_hash and run_at); it is sent up to its length for that record.
local RECORD_FIELDS = 32
local record = {'HSET', '', 'job_id', '', 'workspace_id', '', 'actor_id', '',
  'action_provider', '', 'action_name', '', 'params', '',
  'status', 'pending', 'attempts', '0', 'result', '', 'error', '',
  'client_request_id', '', 'created_at', createdAt, 'updated_at', createdAt,
  'started_at', '', 'finished_at', ''}

-- One request: a = index of its first ARGV, k = index of its first KEY
-- (its pending index); jobCount and recordKeys as computed by the caller.
-- checkRecords: whether it must check that its record keys do not exist
-- (false when the call's one EXISTS already found none of them).
local function createRequest(a, k, jobCount, recordKeys, checkRecords)
  local ws, hasIdem = ARGV[a], ARGV[a + 1] == '1'
  local requestHash, clientRequestId, quota = ARGV[a + 2], ARGV[a + 3], tonumber(ARGV[a + 4])
  local statusKey, idemKey = KEYS[k], KEYS[k + 1]
  local firstJob = a + PER_REQUEST

  -- 1. Idempotency: a live key answers the request. Its job exists (a replay
  -- or a mismatch) or has expired (retention can be shorter than the key's
  -- 24 h): a key is only ever written with its job, so a missing job is gone,
  -- and the repeat must not create a second one. (A key written by an
  -- earlier request of this call is found too: its records are already
  -- written, only its list and set entries wait for the end of the call.)
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
  -- types, and no record key of these jobs exists.
  if queueOk == nil then queueOk = holdsOnly(KEYS[1], 'list') end
  if not queueOk then return {'refused', 'queue key holds another type'} end
  local indexFine = indexOk[statusKey]
  if indexFine == nil then indexFine = holdsOnly(statusKey, 'zset'); indexOk[statusKey] = indexFine end
  if not indexFine then return {'refused', 'status index holds another type'} end
  local gathered = indexMembers[statusKey]
  -- Every stored job of the workspace is in one of its status indexes (until
  -- the expiry sweep drops expired ones), so their sizes are the quota's count,
  -- with the jobs earlier requests of this call add to its pending index.
  -- (pcall: an index of another type, corruption, counts nothing rather than raise.)
  if quota > 0 then
    local stored = gathered and #gathered / 2 or 0
    for _, status in ipairs(JOB_STATUS_LIST) do
      local n = redis.pcall('ZCARD', Keys.workspaceStatusIndex(ws, status))
      if type(n) == 'number' then stored = stored + n end
    end
    if stored + jobCount > quota then return {'quota', tostring(stored), tostring(quota)} end
  end
  local anyDelayed = false
  for i = 0, jobCount - 1 do
    local delay = ARGV[firstJob + i * PER_JOB + 6]
    if delay == '' then
      dues[i], runAts[i] = false, ''
    else
      local due, runAt = dueTime(delay)
      if not runAt then return {'refused', 'job delay is malformed'} end
      dues[i], runAts[i] = due or false, runAt
      if due then anyDelayed = true end
    end
  end
  if anyDelayed then
    if delayedOk == nil then delayedOk = holdsOnly(KEYS[2], 'zset') end
    if not delayedOk then return {'refused', 'delayed set holds another type'} end
  end
  local firstRecord = k + 2
  if checkRecords then
    local lastRecord = k + 1 + recordKeys
    for first = firstRecord, lastRecord, 1000 do
      if redis.call('EXISTS', unpack(KEYS, first, math.min(first + 999, lastRecord))) > 0 then
        return {'refused', 'job id already exists'}
      end
    end
  end

  -- 3. Writes: the records and the events now, the list and set entries
  -- gathered for the end of the call, the idempotency key last.
  -- run_at only on a job given a due time, request_hash only where it is
  -- read (see above): each field costs ~55 B a record, and a 17th would grow
  -- the hash table besides (16 → 32 buckets, ~300 B a job; bench "memory").
  if not gathered then
    gathered = {}
    indexMembers[statusKey] = gathered
    indexKeys[#indexKeys + 1] = statusKey
  end
  record[6], record[24] = ws, clientRequestId
  local skippedBefore = eventsSkipped()
  local nextKey = firstRecord
  for i = 0, jobCount - 1 do
    local base = firstJob + i * PER_JOB
    local copies, jobId, provider, name = ARGV[base], ARGV[base + 1], ARGV[base + 3], ARGV[base + 4]
    local runAt = runAts[i]
    record[4], record[8], record[10], record[12], record[14] = jobId, ARGV[base + 2], provider, name, ARGV[base + 5]
    local n = RECORD_FIELDS
    if hasIdem or copies ~= 'S' then
      record[n + 1] = 'request_hash'
      record[n + 2] = requestHash
      n = n + 2
    end
    if runAt ~= '' then
      record[n + 1] = 'run_at'
      record[n + 2] = runAt
      n = n + 2
    end
    if copies ~= 'S' then record[2] = KEYS[nextKey]; redis.call(unpack(record, 1, n)); nextKey = nextKey + 1 end
    if copies ~= 'L' then record[2] = KEYS[nextKey]; redis.call(unpack(record, 1, n)); nextKey = nextKey + 1 end
    gathered[#gathered + 1] = '0' -- a string: a Lua number would be formatted on every use
    gathered[#gathered + 1] = memberPrefix .. jobId
    local due = dues[i]
    if due then
      delayedPairs[#delayedPairs + 1] = due
      delayedPairs[#delayedPairs + 1] = queueEntry(ws, jobId)
    else
      pendingEntries[#pendingEntries + 1] = queueEntry(ws, jobId)
    end
    local extra = nil
    if runAt ~= '' then runAtExtra[2] = runAt; extra = runAtExtra end
    appendEvent(ws, 'created', jobId, provider .. '.' .. name, 'pending', '0', createdAt, extra)
  end
  if hasIdem then redis.call('SET', idemKey, ARGV[firstJob + 1], 'EX', idempotencyTtl) end
  return {'created', createdAt, eventsSkipped() - skippedBefore}
end

-- Where each request starts in ARGV and KEYS, its job count and its number
-- of record keys (one per L and one per S in its copies); and every record
-- key of the call, for one EXISTS over them all before any write.
local requests = 0
local requestArg, requestKey, jobCounts, recordCounts = {}, {}, {}, {}
local a, k = 3, 3
while a <= #ARGV do
  local jobCount = tonumber(ARGV[a + 5])
  local recordKeys = 0
  for i = 0, jobCount - 1 do recordKeys = recordKeys + #ARGV[a + PER_REQUEST + i * PER_JOB] end
  requests = requests + 1
  requestArg[requests], requestKey[requests], jobCounts[requests], recordCounts[requests] = a, k, jobCount, recordKeys
  a = a + PER_REQUEST + jobCount * PER_JOB
  k = k + 2 + recordKeys
end

-- Job ids are server-generated UUIDs, so a record key that already exists
-- is rare: one EXISTS over the call's record keys answers for every request
-- when it finds none. Only when it finds one (or a key repeats in the call:
-- the earlier request would write it first) does each request check its
-- own keys in its turn, so that a collision refuses only the request it
-- belongs to. A request's turn comes after writes of other requests only:
-- records under other keys (none repeats), and list, set, idempotency and
-- stream keys, which are never record keys; so "none existed when the call
-- began" is still true at every request's turn. A call of one request (a
-- plan, or a submit alone) checks its keys in its turn, with the same one
-- EXISTS and no list of them built first.
local checkRecords = requests == 1
if not checkRecords then
  local allRecords, seen = {}, {}
  for r = 1, requests do
    local first = requestKey[r] + 2
    for i = first, first + recordCounts[r] - 1 do
      local key = KEYS[i]
      if seen[key] then checkRecords = true end
      seen[key] = true
      allRecords[#allRecords + 1] = key
    end
  end
  if not checkRecords then
    for first = 1, #allRecords, 1000 do
      if redis.call('EXISTS', unpack(allRecords, first, math.min(first + 999, #allRecords))) > 0 then
        checkRecords = true
        break
      end
    end
  end
end

local replies = {}
for r = 1, requests do
  replies[r] = createRequest(requestArg[r], requestKey[r], jobCounts[r], recordCounts[r], checkRecords)
end

-- The gathered entries of every request answered 'created'. Their keys'
-- types were checked before the first write of the request that first used
-- each, and nothing in the call writes them before this, so none of these raises.
for _, key in ipairs(indexKeys) do callChunked('ZADD', key, indexMembers[key]) end
if #pendingEntries > 0 then callChunked('LPUSH', KEYS[1], pendingEntries) end
if #delayedPairs > 0 then callChunked('ZADD', KEYS[2], delayedPairs) end
return replies
