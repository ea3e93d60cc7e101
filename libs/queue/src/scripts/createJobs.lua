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
    KEYS[5..] two per job, in job order: ai:jobs:{id}, ai:job:{ws}:{id}

    ARGV[1]  workspace id
    ARGV[2]  '1' when the request carries a client_request_id
    ARGV[3]  idempotency TTL, seconds
    ARGV[4]  request hash (payload fingerprint)
    ARGV[5]  number of job fields F
    ARGV[6..5+F] the field names
    then per job: copies ('L', 'S' or 'LS'), index member, queue entry, then
              the F values in field-name order (names are sent once per call)

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
local requestHash = ARGV[4]
local fieldCount = tonumber(ARGV[5])
local firstJobArg = 6 + fieldCount
local perJob = 3 + fieldCount
local jobCount = (#KEYS - 4) / 2

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

-- 2. Every other precondition, before any write.
if not holdsOnly(KEYS[1], 'list') then return {'refused', 'queue key holds another type'} end
if not holdsOnly(KEYS[2], 'zset') then return {'refused', 'workspace index holds another type'} end
if not holdsOnly(KEYS[3], 'zset') then return {'refused', 'status index holds another type'} end
for i = 0, jobCount - 1 do
  local copies = ARGV[firstJobArg + i * perJob]
  if string.find(copies, 'L', 1, true) and redis.call('EXISTS', KEYS[5 + 2 * i]) == 1 then
    return {'refused', 'job id already exists'}
  end
  if string.find(copies, 'S', 1, true) and redis.call('EXISTS', KEYS[6 + 2 * i]) == 1 then
    return {'refused', 'job id already exists'}
  end
end

-- 3. Writes.
local firstJobId
for i = 0, jobCount - 1 do
  local base = firstJobArg + i * perJob
  local copies, member, entry = ARGV[base], ARGV[base + 1], ARGV[base + 2]
  local fields = {}
  for f = 1, fieldCount do
    fields[2 * f - 1] = ARGV[5 + f]
    fields[2 * f] = ARGV[base + 2 + f]
  end
  if string.find(copies, 'L', 1, true) then redis.call('HSET', KEYS[5 + 2 * i], unpack(fields)) end
  if string.find(copies, 'S', 1, true) then redis.call('HSET', KEYS[6 + 2 * i], unpack(fields)) end
  redis.call('ZADD', KEYS[2], 0, member)
  redis.call('ZADD', KEYS[3], 0, member)
  redis.call('LPUSH', KEYS[1], entry)
  firstJobId = firstJobId or string.sub(member, 26)
end
if hasIdem then redis.call('SET', KEYS[4], firstJobId, 'EX', tonumber(ARGV[3])) end
return {'created'}
