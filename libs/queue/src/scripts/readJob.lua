--[[
  readJob: one job of one workspace, looked up by the read routing. When the
  scoped copy is served and a legacy copy exists too, the two are compared
  (status, attempts, updated_at) so that a divergence between schemas is
  reported, never silent.

  Input:
    KEYS[1]  scopedJob(ws, id)   (workspace-scoped copy)
    KEYS[2]  legacyJob(id)       (legacy copy; counts only if its workspace_id is ARGV[1])
    ARGV[1]  workspace id
    ARGV[2]  routing: 'legacy' | 'scoped' | 'scoped-then-legacy'

  Output:
    {'new', diverged ('1'/'0'), field, value, ...} or {'old', '0', field, value, ...} or {'miss'}
    A legacy record of another workspace is a miss, exactly like an absent one.
]]
local routing = ARGV[2]
if routing ~= 'legacy' then
  local fields = redis.call('HGETALL', KEYS[1])
  if #fields > 0 then
    local diverged = '0'
    if redis.call('TYPE', KEYS[2])['ok'] == 'hash' and redis.call('HGET', KEYS[2], 'workspace_id') == ARGV[1] then
      local a = redis.call('HMGET', KEYS[1], 'status', 'attempts', 'updated_at')
      local b = redis.call('HMGET', KEYS[2], 'status', 'attempts', 'updated_at')
      if a[1] ~= b[1] or a[2] ~= b[2] or a[3] ~= b[3] then diverged = '1' end
    end
    table.insert(fields, 1, diverged)
    table.insert(fields, 1, 'new')
    return fields
  end
  if routing == 'scoped' then return {'miss'} end
end
if redis.call('HGET', KEYS[2], 'workspace_id') ~= ARGV[1] then return {'miss'} end
local fields = redis.call('HGETALL', KEYS[2])
table.insert(fields, 1, '0')
table.insert(fields, 1, 'old')
return fields
