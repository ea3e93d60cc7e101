-- retention: how finished jobs' index entries leave with their records.
-- Relay's own finished jobs: the record expires (EXPIRE), and the expiry
-- sweep (sweepFinishedIndexes.lua) drops its index entry once it finds the
-- record gone; all a finish writes is its workspace in the sweep's registry
-- (sweepLater), once per call. Predecessor records indexed with a TTL (and
-- every finished job of a release before the sweep) have an entry in the
-- retention set instead: '<ws>|<status>|<index member>' scored by expiry,
-- which the recovery pass drains (expireIndexEntries.lua).
-- @requires keys clock
-- Uses: Keys (generated). Defines: retentionItem, parseRetentionItem, trackExpiry, sweepLater.

local function retentionItem(ws, status, member)
  return ws .. '|' .. status .. '|' .. member
end

-- ws, status, index member (nil when malformed).
local function parseRetentionItem(item)
  local ws, rest = string.match(item, '^([^|]+)|(.+)$')
  if not ws then return nil end
  local status, member = string.match(rest, '^([^|]*)|(.+)$')
  if not status or not member then return nil end
  return ws, status, member
end

-- A record that already expires gets a retention entry too, so that its index
-- entries are dropped when it does.
local function trackExpiry(key, ws, status, member)
  local ttl = redis.call('PTTL', key)
  if ttl > 0 then
    redis.call('ZADD', Keys.retention, redisNowMs() + ttl, retentionItem(ws, status or '', member))
  end
end

-- A job of ws finished (its record expires): ws goes into the sweep's
-- registry (`registry`: the expiringWorkspaces key), one write per workspace per
-- call, gathered in the call's write batch (writeBatch.lua).
local function sweepLater(batch, registry, ws)
  local seen = batch.sweepSeen
  if not seen then
    seen = {}
    batch.sweepSeen = seen
  end
  if seen[ws] then return end
  seen[ws] = true
  batch:zadd(registry, '0', ws)
end
