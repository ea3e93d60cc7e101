--[[
  expireIndexEntries: removes the index entries the retention set names
  once they are due (their records expired), oldest first, at most ARGV[1]
  per call, so that one call stays short: the recovery pass calls it until
  it removes fewer than that. The set holds predecessor records indexed
  with a TTL (retention.lua trackExpiry) and, after an upgrade, the
  finished jobs of the release before the expiry sweep (which also wrote
  the all-jobs index); Relay's own finished jobs leave through the sweep
  (sweepFinishedIndexes.lua). Idempotent (ZREM), so two workers doing it at
  once do no harm. A dead letter leaves the dead-letter list with its
  record. Times come from Redis TIME.

  Input:
    KEYS[1] retention (members '<ws>|<status>|<index member>', scored by expiry, ms)
    KEYS[2] deadLetters
    ARGV[1] at most this many entries
  Output: the number of retention entries handled (malformed ones are dropped too)
]]
-- @include clock
-- @include entries
-- @include retention
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', redisNowMs(), 'LIMIT', 0, tonumber(ARGV[1]))
for _, item in ipairs(due) do
  local ws, status, member = parseRetentionItem(item)
  if ws then
    redis.call('ZREM', Keys.allJobsIndex(ws), member)
    redis.call('ZREM', Keys.workspaceStatusIndex(ws, status), member)
    if status == 'failed' then redis.call('LREM', KEYS[2], 1, queueEntry(ws, string.match(member, '/(.+)$'))) end
  end
end
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return #due
