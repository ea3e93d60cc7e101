--[[
  indexLegacyJobs: one batch of the legacy index sweep. Records the
  predecessor system wrote have no index entries; each valid one gets its
  entry in the index of its current status (one the status reads show:
  'pending' for a status that is none of the five). Idempotent. The
  predecessor may still change a record's status while it runs, so an entry
  found under another status index is moved to the current one. Records
  holding Relay's own field request_hash (every job Relay writes with a
  legacy copy has it, '' without a client_request_id: createJobs.lua) are
  Relay's: Relay indexes them when it writes them, so they are passed over.

  The sweep (ARGV[1] set) writes only while its token holds the lock, and
  moves its checkpoint in the same call, so a replica whose lock lapsed and
  was taken over cannot move the new holder's checkpoint back.

  Input:
    KEYS[1]  legacyIndexLock  KEYS[2] legacyIndexCheckpoint  KEYS[3] legacyIndexedMarker
    KEYS[4..n]  legacyJob(id) keys found by SCAN (none is fine: the cursor still moves)
    ARGV[1]  the sweep's lock token, or '' for an on-demand pass (no lock, no checkpoint)
    ARGV[2]  lock time (ms) while the pass goes on
    ARGV[3]  the SCAN cursor after this batch; '0' ends the pass
    ARGV[4]  lock time (ms) after a finished pass, so no replica starts another sooner

  Output:
    {'lost'} when the token does not hold the lock (nothing written), else
    {'ok', indexed (newly), moved (status entry), invalid, Relay's own,
     failed (an index key of another type in the way; the record is skipped)}

  Writes index keys by computed name (not in KEYS): fine on one Redis
  primary; the Cluster plan adds hash tags.
]]
-- @include legacyRecord
-- @include statusIndex
-- @include retention
local token, lockMs, nextCursor, holdMs = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
if token ~= '' and redis.call('GET', KEYS[1]) ~= token then return {'lost'} end

-- Puts the member in its status's index and takes it out of the others:
-- 'kept' (it was there), 'moved' (it was under another status) or 'indexed' (in none).
local function placeStatus(ws, member, status)
  if redis.call('ZSCORE', Keys.workspaceStatusIndex(ws, status), member) then return 'kept' end
  local removed = 0
  for other in pairs(JOB_STATUSES) do
    if other ~= status then removed = removed + redis.call('ZREM', Keys.workspaceStatusIndex(ws, other), member) end
  end
  redis.call('ZADD', Keys.workspaceStatusIndex(ws, status), 0, member)
  return removed > 0 and 'moved' or 'indexed'
end

-- What indexing one key did: 'indexed', 'moved', 'kept', 'invalid', 'own' or 'other' (not a hash).
local function indexRecord(key)
  if redis.call('TYPE', key)['ok'] ~= 'hash' then return 'other' end
  if redis.call('HEXISTS', key, 'request_hash') == 1 then return 'own' end
  local record = toTable(redis.call('HGETALL', key))
  local jobId, ws = legacyIdentity(key, record)
  if not jobId then return 'invalid' end
  local member = indexMember(record['created_at'], jobId)
  local status = indexedStatus(record['status'])
  local placed = placeStatus(ws, member, status)
  trackExpiry(key, ws, status, member)
  return placed
end

-- A key of another type in an index's place (corruption, an operator's
-- mistake) fails that record only: the batch, and the checkpoint, go on.
local counts = {indexed = 0, moved = 0, invalid = 0, own = 0, failed = 0}
for i = 4, #KEYS do
  local ok, what = pcall(indexRecord, KEYS[i])
  if not ok then what = 'failed' end
  if counts[what] then counts[what] = counts[what] + 1 end
end

if nextCursor == '0' then
  redis.call('SET', KEYS[3], isoFromMs(redisNowMs()))
  if token ~= '' then
    redis.call('DEL', KEYS[2])
    if holdMs > 0 then redis.call('SET', KEYS[1], token, 'PX', holdMs) else redis.call('DEL', KEYS[1]) end
  end
elseif token ~= '' then
  redis.call('SET', KEYS[2], nextCursor)
  redis.call('PEXPIRE', KEYS[1], lockMs)
end
return {'ok', counts.indexed, counts.moved, counts.invalid, counts.own, counts.failed}
