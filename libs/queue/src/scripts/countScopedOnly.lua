--[[
  countScopedOnly: which of a batch of workspace-scoped records have no
  legacy copy (normal for jobs created with legacy writes off).

  Input:
    KEYS[1..n] scopedJob(ws, id) keys found by SCAN
  Output:
    {with a legacy copy, {job ids with no legacy copy}}
]]
-- @include keys
-- @include entries
local prefix = Keys.scopedJobPrefix
local both, only = 0, {}
for _, key in ipairs(KEYS) do
  -- After the prefix, a scoped key reads like a queue entry: '<ws>:<job id>'.
  local ws, jobId
  if string.sub(key, 1, #prefix) == prefix then ws, jobId = splitEntry(string.sub(key, #prefix + 1)) end
  if ws and ws ~= '' and jobId ~= '' then
    local legacy = Keys.legacyJob(jobId)
    if redis.call('TYPE', legacy)['ok'] == 'hash' and redis.call('HGET', legacy, 'workspace_id') == ws then
      both = both + 1
    else
      only[#only + 1] = jobId
    end
  end
end
return {both, only}
