-- retention: the set of finished jobs' index entries, scored by expiry (ms),
-- whose members '<ws>|<status>|<index member>' name what the recovery sweep
-- removes from the indexes when the record expires.
-- @requires keys clock
-- Uses: Keys (generated). Defines: retentionItem, parseRetentionItem, trackExpiry.

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
