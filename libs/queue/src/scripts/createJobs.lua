--[[
  createJobs: creates one or more jobs of one workspace atomically. Every
  record copy, index entry, queue entry and the idempotency key are written,
  or nothing is: all preconditions are checked before the first write,
  because neither Lua nor MULTI rolls back after a runtime error.

  Input:
    KEYS[1]  ai:queue:pending
    KEYS[2]  ai:index:{ws}
    KEYS[3]  ai:index:{ws}:status:pending
    KEYS[4]  ai:idempotency:{ws}:{client_request_id}   (used only when ARGV[2] == '1')
    KEYS[5..] the record keys each job gets, in job order: ai:jobs:{id} when
              its copies include L, then ai:job:{ws}:{id} when they include S

    ARGV[1]  workspace id
    ARGV[2]  '1' when the request carries a client_request_id
    ARGV[3]  idempotency TTL, seconds
    ARGV[4]  request hash (payload fingerprint; '' without a client_request_id)
    ARGV[5]  client_request_id ('' when none)
    ARGV[6]  created_at (ISO 8601, shared by the jobs of one call)
    then 6 per job: copies ('L', 'S' or 'LS'), job id, actor id,
              action provider, action name, params (JSON text)

  The fields a new job starts with are written here (status pending,
  attempts 0, empty result, error and times), so a call carries only what
  varies; job-record.ts JOB_FIELDS lists the same fields.

  Output:
    {'created'}
    {'replayed', job_id, status, created_at}   same key, same payload: the original
    {'mismatch'}                               same key, different payload
    {'refused', reason}                        a precondition failed; nothing written

  Reads job copies of an existing idempotency key by computed name (not in
  KEYS): fine on one Redis primary; the Cluster plan adds hash tags.
]]
local ws = ARGV[1]
local hasIdem = ARGV[2] == '1'
local requestHash, clientRequestId, createdAt = ARGV[4], ARGV[5], ARGV[6]
local PER_JOB = 6
local jobCount = (#ARGV - 6) / PER_JOB

local function holdsOnly(key, wanted)
  local t = redis.call('TYPE', key)['ok']
  return t == 'none' or t == wanted
end

local function existingCopy(jobId)
  local scoped = 'ai:job:' .. ws .. ':' .. jobId
  if redis.call('EXISTS', scoped) == 1 then return scoped end
  local legacy = 'ai:jobs:' .. jobId
  if redis.call('HGET', legacy, 'workspace_id') == ws then return legacy end
  return nil
end

-- Variadic commands in chunks that stay well inside Lua's stack limit.
local function callChunked(command, key, args)
  for first = 1, #args, 1000 do
    redis.call(command, key, unpack(args, first, math.min(first + 999, #args)))
  end
end

-- 1. Idempotency: a live key that points at an existing job answers the request.
if hasIdem then
  if not holdsOnly(KEYS[4], 'string') then return {'refused', 'idempotency key holds another type'} end
  local firstId = redis.call('GET', KEYS[4])
  if firstId then
    local copy = existingCopy(firstId)
    -- A key whose job has expired or was never written is stale: fall through and create.
    if copy then
      local f = redis.call('HMGET', copy, 'request_hash', 'status', 'created_at')
      if f[1] ~= requestHash then return {'mismatch'} end
      return {'replayed', firstId, f[2] or '', f[3] or ''}
    end
  end
end

-- 2. Every other precondition, before any write: the keys hold the right
-- types, and no record key of these jobs exists (one EXISTS for all of them).
if not holdsOnly(KEYS[1], 'list') then return {'refused', 'queue key holds another type'} end
if not holdsOnly(KEYS[2], 'zset') then return {'refused', 'workspace index holds another type'} end
if not holdsOnly(KEYS[3], 'zset') then return {'refused', 'status index holds another type'} end
local members, entries = {}, {}
for i = 0, jobCount - 1 do
  local jobId = ARGV[8 + i * PER_JOB]
  members[#members + 1] = '0' -- a string: a Lua number would be formatted on every use
  members[#members + 1] = createdAt .. '/' .. jobId
  entries[#entries + 1] = ws .. ':' .. jobId
end
for first = 5, #KEYS, 1000 do
  if redis.call('EXISTS', unpack(KEYS, first, math.min(first + 999, #KEYS))) > 0 then
    return {'refused', 'job id already exists'}
  end
end

-- 3. Writes.
local function writeRecord(key, base)
  redis.call('HSET', key,
    'job_id', ARGV[base + 1], 'workspace_id', ws, 'actor_id', ARGV[base + 2],
    'action_provider', ARGV[base + 3], 'action_name', ARGV[base + 4], 'params', ARGV[base + 5],
    'status', 'pending', 'attempts', '0', 'result', '', 'error', '',
    'client_request_id', clientRequestId, 'created_at', createdAt, 'updated_at', createdAt,
    'started_at', '', 'finished_at', '', 'request_hash', requestHash)
end
local nextKey = 5
for i = 0, jobCount - 1 do
  local base = 7 + i * PER_JOB
  local copies = ARGV[base]
  if copies ~= 'S' then writeRecord(KEYS[nextKey], base); nextKey = nextKey + 1 end
  if copies ~= 'L' then writeRecord(KEYS[nextKey], base); nextKey = nextKey + 1 end
end
callChunked('ZADD', KEYS[2], members)
callChunked('ZADD', KEYS[3], members)
callChunked('LPUSH', KEYS[1], entries)
if hasIdem then redis.call('SET', KEYS[4], ARGV[8], 'EX', tonumber(ARGV[3])) end
return {'created'}
