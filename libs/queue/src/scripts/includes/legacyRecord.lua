-- legacyRecord: checks of a legacy record (written by Relay or by the
-- predecessor system) before it is indexed, copied, compared or deleted.
-- @requires keys
-- Uses: Keys (generated). Defines: validWorkspace, validJobId, validTime,
-- toTable, legacyIdentity, JOB_STATUSES, indexedStatus.

local JOB_STATUSES = {pending = true, running = true, succeeded = true, failed = true, cancelled = true}

-- The status index a record goes in: its status, or 'pending' (what the reads
-- show, job-record.ts) for one that is none of the five, so that it is listed.
local function indexedStatus(status)
  return JOB_STATUSES[status] and status or 'pending'
end

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
  if not validJobId(jobId) or key ~= Keys.legacyJob(jobId) then return nil end
  if not validWorkspace(ws) or not validTime(record['created_at']) then return nil end
  return jobId, ws
end
