--[[
  backfillJobs: copies a batch of legacy records to the workspace-scoped
  schema, and indexes them. Idempotent: a scoped copy at least as new as the
  legacy record (by updated_at) is never overwritten. The copy keeps the
  legacy record's remaining TTL.

  Input:
    KEYS[1..n] legacyJob(id) keys found by SCAN
    ARGV[1]    '1' for a dry run (count only, write nothing)
  Output:
    {copied, skipped (scoped copy as new or newer), invalid, {invalid keys...}}

  Writes scoped and index keys by computed name (not in KEYS): fine on one
  Redis primary; the Cluster plan adds hash tags.
]]
-- @include legacyRecord
-- @include statusIndex
-- @include retention
local dryRun = ARGV[1] == '1'
local copied, skipped, invalid, invalidKeys = 0, 0, 0, {}

for _, key in ipairs(KEYS) do
  local kind = redis.call('TYPE', key)['ok']
  if kind ~= 'none' then
    local flat = kind == 'hash' and redis.call('HGETALL', key) or {}
    local record = toTable(flat)
    local jobId, ws = legacyIdentity(key, record)
    if not jobId then
      invalid = invalid + 1
      invalidKeys[#invalidKeys + 1] = key
    else
      local scoped = Keys.scopedJob(ws, jobId)
      local scopedUpdated = redis.call('HGET', scoped, 'updated_at')
      if scopedUpdated and scopedUpdated >= (record['updated_at'] or '') then
        skipped = skipped + 1
      else
        copied = copied + 1
        if not dryRun then
          redis.call('DEL', scoped)
          redis.call('HSET', scoped, unpack(flat))
          local ttl = redis.call('PTTL', key)
          if ttl > 0 then redis.call('PEXPIRE', scoped, ttl) end
          local member = indexMember(record['created_at'], jobId)
          local status = indexedStatus(record['status'])
          redis.call('ZADD', Keys.workspaceStatusIndex(ws, status), 'NX', 0, member)
          trackExpiry(key, ws, status, member)
        end
      end
    end
  end
end
return {copied, skipped, invalid, invalidKeys}
