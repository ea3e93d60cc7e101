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

-- jobCopies, and `...` (field names) read from the first copy in the same
-- reads: {copies}, {values}. Two calls where jobCopies + HMGET take three
-- (the claim's hot path). The scoped copy comes first, as in jobCopies.
local function readCopies(ws, jobId, ...)
  local scoped = 'ai:job:' .. ws .. ':' .. jobId
  local legacy = 'ai:jobs:' .. jobId
  local f = redis.pcall('HMGET', scoped, 'job_id', ...)
  if type(f) == 'table' and f[1] then
    table.remove(f, 1)
    if redis.pcall('HGET', legacy, 'workspace_id') == ws then return {scoped, legacy}, f end
    return {scoped}, f
  end
  f = redis.pcall('HMGET', legacy, 'workspace_id', ...)
  if type(f) == 'table' and f[1] == ws then
    table.remove(f, 1)
    return {legacy}, f
  end
  return {}, {}
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
  redis.call('ZADD', 'ai:index:' .. ws .. ':status:' .. to, '0', member)
end

-- Sorted-set writes of a hot-path call, gathered and sent as one variadic
-- ZREM or ZADD per key (far fewer commands when a call finishes or claims
-- dozens of jobs). Groups run in the order first seen; a script flushes
-- before it returns and between phases that touch the same members.
-- A write that fails (a key of another type in the way) is skipped and
-- counted, so one broken index of one workspace cannot abort a call that
-- has already popped and started other workspaces' jobs; the script reports
-- the count and the worker logs it.
local zsetWrites = {}
local zsetGroups = {}
local skippedWrites = 0
-- A write whose failure must not abort the call either (the dead-letter list):
-- skipped and counted with the sorted-set writes above.
local function writeOrCount(...)
  local reply = redis.pcall(...)
  if type(reply) == 'table' and reply.err then skippedWrites = skippedWrites + 1 end
end
local function queueZsetWrite(command, key, score, member)
  local id = command .. ' ' .. key
  local group = zsetGroups[id]
  if not group then
    group = {command = command, key = key, args = {}}
    zsetGroups[id] = group
    zsetWrites[#zsetWrites + 1] = group
  end
  local args = group.args
  if command == 'ZADD' then args[#args + 1] = score end
  args[#args + 1] = member
end
local function flushZsetWrites()
  for _, group in ipairs(zsetWrites) do
    local args = group.args
    -- Chunks keep unpack() well inside Lua's stack limit.
    for first = 1, #args, 1000 do
      local last = math.min(first + 999, #args)
      local reply = redis.pcall(group.command, group.key, unpack(args, first, last))
      if type(reply) == 'table' and reply.err then
        skippedWrites = skippedWrites + (group.command == 'ZADD' and (last - first + 1) / 2 or (last - first + 1))
      end
    end
  end
  zsetWrites, zsetGroups = {}, {}
end
-- moveStatus, gathered with the call's other sorted-set writes.
local function queueMoveStatus(ws, member, from, to)
  local prefix = 'ai:index:' .. ws .. ':status:'
  queueZsetWrite('ZREM', prefix .. from, nil, member)
  queueZsetWrite('ZADD', prefix .. to, '0', member)
end

-- Sets fields on every copy.
local function setAll(copies, ...)
  for _, key in ipairs(copies) do redis.call('HSET', key, ...) end
end
