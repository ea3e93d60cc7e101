--[[
  indexLegacyJobs: adds index entries for legacy records that have none
  (records written by the predecessor system). Idempotent: ZADD NX.

  Input:
    KEYS[1..n]  legacyJob(id) keys found by SCAN
  Output:
    {indexed, invalid}  records indexed (or already indexed), and records
    skipped because their workspace id, job id or created_at is not valid

  Writes index keys by computed name (not in KEYS): fine on one Redis
  primary; the Cluster plan adds hash tags.
]]
-- @include legacyRecord
-- @include statusIndex
-- @include retention

local indexed, invalid = 0, 0
for _, key in ipairs(KEYS) do
  if redis.call('TYPE', key)['ok'] == 'hash' then
    local record = toTable(redis.call('HGETALL', key))
    local jobId, ws = legacyIdentity(key, record)
    local status = record['status']
    if jobId then
      local member = indexMember(record['created_at'], jobId)
      redis.call('ZADD', Keys.workspaceIndex(ws), 'NX', 0, member)
      if JOB_STATUSES[status] then redis.call('ZADD', Keys.workspaceStatusIndex(ws, status), 'NX', 0, member) end
      trackExpiry(key, ws, status, member)
      indexed = indexed + 1
    else
      invalid = invalid + 1
    end
  end
end
return {indexed, invalid}
