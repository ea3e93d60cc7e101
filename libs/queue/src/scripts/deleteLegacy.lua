--[[
  deleteLegacy: deletes archived legacy records (cleanup, phase 4). A record
  is deleted only when its workspace-scoped copy exists, or when it cannot be
  migrated at all (invalid workspace or job id); anything else is kept and
  reported.

  Input:
    KEYS[1..n] legacyJob(id) keys that were archived
  Output:
    {deleted, {keys kept}}
]]
-- @include legacyRecord
local deleted, kept = 0, {}
for _, key in ipairs(KEYS) do
  -- Only hashes: those are what the archive holds.
  if redis.call('TYPE', key)['ok'] == 'hash' then
    local record = toTable(redis.call('HGETALL', key))
    local jobId, ws = legacyIdentity(key, record)
    if not jobId or redis.call('EXISTS', Keys.scopedJob(ws, jobId)) == 1 then
      redis.call('DEL', key)
      deleted = deleted + 1
    else
      kept[#kept + 1] = key
    end
  end
end
return {deleted, kept}
