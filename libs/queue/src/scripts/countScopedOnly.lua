--[[
  countScopedOnly: which of a batch of workspace-scoped records have no
  legacy copy (normal for jobs created with legacy writes off).

  Input:
    KEYS[1..n] ai:job:{workspace_id}:{job_id} keys found by SCAN
  Output:
    {with a legacy copy, {job ids with no legacy copy}}
]]
local both, only = 0, {}
for _, key in ipairs(KEYS) do
  local ws, jobId = string.match(key, '^ai:job:([^:]+):(.+)$')
  if ws then
    local legacy = 'ai:jobs:' .. jobId
    if redis.call('TYPE', legacy)['ok'] == 'hash' and redis.call('HGET', legacy, 'workspace_id') == ws then
      both = both + 1
    else
      only[#only + 1] = jobId
    end
  end
end
return {both, only}
