--[[
  readJob: one job of one workspace, looked up by the read routing.

  Input:
    KEYS[1]  ai:job:{ws}:{id}   (workspace-scoped copy)
    KEYS[2]  ai:jobs:{id}       (legacy copy; counts only if its workspace_id is ARGV[1])
    ARGV[1]  workspace id
    ARGV[2]  routing: 'legacy' | 'scoped' | 'scoped-then-legacy'

  Output:
    {'new', field, value, ...} or {'old', field, value, ...} or {'miss'}
    A legacy record of another workspace is a miss, exactly like an absent one.
]]
local routing = ARGV[2]
if routing ~= 'legacy' then
  local fields = redis.call('HGETALL', KEYS[1])
  if #fields > 0 then
    table.insert(fields, 1, 'new')
    return fields
  end
  if routing == 'scoped' then return {'miss'} end
end
if redis.call('HGET', KEYS[2], 'workspace_id') ~= ARGV[1] then return {'miss'} end
local fields = redis.call('HGETALL', KEYS[2])
table.insert(fields, 1, 'old')
return fields
