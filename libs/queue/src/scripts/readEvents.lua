--[[
  readEvents: entries of one or more workspace event streams after a
  position, each with what a reader needs to tell whether entries after that
  position were trimmed away before it could read them: the stream's state
  and its entries come from one atomic call, so nothing is trimmed between
  the two. Read-only. With a count of 0 it only reports the state (the
  position "now" is the last generated id).

  Input:
    KEYS[i]   workspaceEvents(ws) of each stream read
    ARGV[1]   entries to read per stream at most (0: none, state only)
    then per stream: the position to read after (exclusive, an entry id),
      and the last id to read ('+': to the end)

  Output: per stream
    {last generated id ('0-0' when the stream does not exist), entries ever added,
     length, id of the first entry kept ('' when none), {{id, {field, value, ...}}, ...}}
  An error when a key holds another type.
]]
local count = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  local after = ARGV[2 * i]
  local upTo = ARGV[2 * i + 1]
  if redis.call('EXISTS', key) == 0 then
    out[i] = {'0-0', 0, 0, '', {}}
  else
    local info = redis.call('XINFO', 'STREAM', key)
    local lastId, added, length, first = '0-0', 0, 0, ''
    for f = 1, #info, 2 do
      local name = info[f]
      if name == 'last-generated-id' then lastId = info[f + 1]
      elseif name == 'entries-added' then added = info[f + 1]
      elseif name == 'length' then length = info[f + 1]
      elseif name == 'first-entry' and type(info[f + 1]) == 'table' then first = info[f + 1][1]
      end
    end
    local entries = {}
    if count > 0 then entries = redis.call('XRANGE', key, '(' .. after, upTo, 'COUNT', count) end
    out[i] = {lastId, added, length, first, entries}
  end
end
return out
