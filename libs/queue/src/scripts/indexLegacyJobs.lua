--[[
  indexLegacyJobs: adds index entries for legacy records that have none
  (records written by the predecessor system). Idempotent: ZADD NX.

  Input:
    KEYS[1..n]  ai:jobs:{job_id} keys found by SCAN
  Output:
    {indexed, invalid}  records indexed (or already indexed), and records
    skipped because their workspace id, job id or created_at is not valid

  Writes index keys by computed name (not in KEYS): fine on one Redis
  primary; the Cluster plan adds hash tags.
]]
local function validWorkspace(ws)
  return ws and #ws <= 32 and string.match(ws, '^[a-z0-9][a-z0-9_%-]*$') ~= nil
end
local function validJobId(id)
  return id and #id <= 128 and string.match(id, '^[A-Za-z0-9._%-]+$') ~= nil
end
local function validTime(t)
  return t and string.match(t, '^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$') ~= nil
end
local statuses = {pending = true, running = true, succeeded = true, failed = true, cancelled = true}

local indexed, invalid = 0, 0
for _, key in ipairs(KEYS) do
  if redis.call('TYPE', key)['ok'] == 'hash' then
    local f = redis.call('HMGET', key, 'job_id', 'workspace_id', 'created_at', 'status')
    local jobId, ws, createdAt, status = f[1], f[2], f[3], f[4]
    if validJobId(jobId) and key == 'ai:jobs:' .. jobId and validWorkspace(ws) and validTime(createdAt) then
      local member = createdAt .. '/' .. jobId
      redis.call('ZADD', 'ai:index:' .. ws, 'NX', 0, member)
      if statuses[status] then redis.call('ZADD', 'ai:index:' .. ws .. ':status:' .. status, 'NX', 0, member) end
      indexed = indexed + 1
    else
      invalid = invalid + 1
    end
  end
end
return {indexed, invalid}
