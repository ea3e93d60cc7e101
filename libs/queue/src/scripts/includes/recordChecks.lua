-- Shared checks of a legacy record, inlined where a script says `-- @include recordChecks`.
local function validWorkspace(ws)
  return type(ws) == 'string' and #ws <= 32 and string.match(ws, '^[a-z0-9][a-z0-9_%-]*$') ~= nil
end
local function validJobId(id)
  return type(id) == 'string' and #id <= 128 and string.match(id, '^[A-Za-z0-9._%-]+$') ~= nil
end
local function validTime(t)
  return type(t) == 'string' and string.match(t, '^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%dZ$') ~= nil
end
-- HGETALL reply to a table.
local function toTable(flat)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end
-- The job id and workspace of a legacy key's record, or nil when it cannot be migrated.
local function legacyIdentity(key, record)
  local jobId, ws = record['job_id'], record['workspace_id']
  if not validJobId(jobId) or key ~= 'ai:jobs:' .. jobId then return nil end
  if not validWorkspace(ws) or not validTime(record['created_at']) then return nil end
  return jobId, ws
end

-- A record that already expires gets a retention entry too, so that its index
-- entries are dropped when it does (the recovery sweep reads ai:queue:retention).
local function trackExpiry(key, ws, status, member)
  local ttl = redis.call('PTTL', key)
  if ttl > 0 then
    local t = redis.call('TIME')
    local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    redis.call('ZADD', 'ai:queue:retention', nowMs + ttl, ws .. '|' .. (status or '') .. '|' .. member)
  end
end
