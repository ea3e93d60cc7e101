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

  The event streams' age trim is the expiry sweep's (sweepFinishedIndexes.lua,
  per workspace it finishes): each workspace seen here joins the sweep's
  registry (KEYS[3]), so that one whose jobs all left by the retention set
  has its stream trimmed too.

  Input:
    KEYS[1] retention (members '<ws>|<status>|<index member>', scored by expiry, ms)
    KEYS[2] deadLetters  KEYS[3] expiringWorkspaces (the expiry sweep's registry)
    ARGV[1] at most this many entries
  Output: the number of retention entries handled (malformed ones are dropped too)
]]
-- @include clock
-- @include entries
-- @include retention
local nowMs = redisNowMs()
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', nowMs, 'LIMIT', 0, tonumber(ARGV[1]))
local seen = {}
for _, item in ipairs(due) do
  local ws, status, member = parseRetentionItem(item)
  if ws then
    redis.call('ZREM', Keys.allJobsIndex(ws), member)
    redis.call('ZREM', Keys.workspaceStatusIndex(ws, status), member)
    if status == 'failed' then redis.call('LREM', KEYS[2], 1, queueEntry(ws, string.match(member, '/(.+)$'))) end
    seen[ws] = true
  end
end
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
-- pcall: a registry of another type (corruption) is passed over.
for ws in pairs(seen) do redis.pcall('ZADD', KEYS[3], 0, ws) end
return #due
