-- writeBatch: writes a call may skip, gathered per key.
-- Sorted-set writes of a hot-path call are gathered and sent as one
-- variadic ZREM or ZADD per key (far fewer commands when a call finishes or
-- claims dozens of jobs), in the order their groups were first seen. A write
-- that fails (a key of another type in the way) is skipped and counted, so
-- one broken index of one workspace cannot abort a call that has already
-- popped and started other workspaces' jobs; the script reports the count.
-- The batch is an object the script creates and passes on: no state is
-- shared between includes. Flush before returning, and between phases that
-- touch the same members.
-- Defines: newWriteBatch() -> a WriteBatch with :zadd(key, score, member),
-- :zrem(key, member), :tryWrite(command, ...), :flush(), and .skipped.

local WriteBatch = {}
WriteBatch.__index = WriteBatch

local function newWriteBatch()
  -- byCommand[command][key] → group: two lookups instead of building a '<command> <key>' string per write.
  return setmetatable({groups = {}, byCommand = {ZADD = {}, ZREM = {}}, skipped = 0}, WriteBatch)
end

function WriteBatch:add(command, key, score, member)
  local byKey = self.byCommand[command]
  local group = byKey[key]
  if not group then
    group = {command = command, key = key, args = {}}
    byKey[key] = group
    self.groups[#self.groups + 1] = group
  end
  local args = group.args
  if score then args[#args + 1] = score end
  args[#args + 1] = member
end

function WriteBatch:zadd(key, score, member) self:add('ZADD', key, score, member) end
function WriteBatch:zrem(key, member) self:add('ZREM', key, nil, member) end

-- A single write whose failure must not abort the call either (e.g. the
-- dead-letter list): done at once, skipped and counted on failure. Returns
-- true when it was written.
function WriteBatch:tryWrite(...)
  local reply = redis.pcall(...)
  if type(reply) == 'table' and reply.err then
    self.skipped = self.skipped + 1
    return false
  end
  return true
end

function WriteBatch:flush()
  for _, group in ipairs(self.groups) do
    local args = group.args
    local perWrite = group.command == 'ZADD' and 2 or 1
    -- Chunks keep unpack() well inside Lua's stack limit.
    for first = 1, #args, 1000 do
      local last = math.min(first + 999, #args)
      local reply = redis.pcall(group.command, group.key, unpack(args, first, last))
      if type(reply) == 'table' and reply.err then self.skipped = self.skipped + (last - first + 1) / perWrite end
    end
  end
  self.groups, self.byCommand = {}, {ZADD = {}, ZREM = {}}
end
