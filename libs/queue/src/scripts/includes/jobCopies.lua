-- Shared helpers, inlined where a script says `-- @include jobCopies`.

-- Redis's clock in ms: every worker compares lease deadlines and due times on
-- one clock, so skew between worker machines cannot expire a lease early.
local function redisNowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Every existing copy of a job of workspace ws: the scoped record, and the
-- legacy record when its workspace_id is ws. Status changes go to each.
-- pcall: a key of another type in the way is not a copy (and must not abort
-- the script half-way); HGET/HEXISTS answer for hashes only.
local function jobCopies(ws, jobId)
  local copies = {}
  local scoped = 'ai:job:' .. ws .. ':' .. jobId
  if redis.pcall('HEXISTS', scoped, 'job_id') == 1 then copies[#copies + 1] = scoped end
  local legacy = 'ai:jobs:' .. jobId
  if redis.pcall('HGET', legacy, 'workspace_id') == ws then copies[#copies + 1] = legacy end
  return copies
end

-- A queue entry is '<workspace_id>:<job_id>'; workspace ids hold no ':'.
local function splitEntry(entry)
  local sep = string.find(entry, ':', 1, true)
  if not sep then return nil, nil end
  return string.sub(entry, 1, sep - 1), string.sub(entry, sep + 1)
end

-- Moves an index member from one status index to another.
local function moveStatus(ws, member, from, to)
  redis.call('ZREM', 'ai:index:' .. ws .. ':status:' .. from, member)
  redis.call('ZADD', 'ai:index:' .. ws .. ':status:' .. to, 0, member)
end

-- Sets fields on every copy.
local function setAll(copies, ...)
  for _, key in ipairs(copies) do redis.call('HSET', key, ...) end
end
