--[[
  expireIndexEntries: removes the index entries of finished jobs whose
  retention has passed (their records expired), oldest first, at most
  ARGV[1] per call, so that one call stays short: the recovery pass calls it
  until it removes fewer than that. Idempotent (ZREM), so two workers doing
  it at once do no harm. A dead letter leaves the dead-letter list with its
  record. Times come from Redis TIME.

  The event streams' age limit rides on this: each workspace seen in the
  call has its stream (events.lua) trimmed of the events older than the
  retention window, one exact XTRIM MINID per workspace per call. A job's
  events are older than the window once its record expires (its last one,
  the final, is appended as it finishes, within EVENT_SLACK_MS of the
  retention entry's time), so no event outlives its job by more than a
  recovery pass; in a workspace that keeps finishing jobs, no event
  outlives the window by more than that either. Events of jobs that never
  finish wait for the next expiry in their workspace (the length cap bounds
  them meanwhile).

  Input:
    KEYS[1] retention (members '<ws>|<status>|<index member>', scored by expiry, ms)
    KEYS[2] deadLetters
    ARGV[1] at most this many entries  ARGV[2] the retention window (s): JOB_RETENTION_SECONDS
  Output: the number of retention entries handled (malformed ones are dropped too)
]]
-- @include clock
-- @include entries
-- @include retention
-- A finish appends its event within a script's run of the time it stamps
-- on the retention entry (the stream's own id is Redis's clock at the XADD).
local EVENT_SLACK_MS = 1000
local nowMs = redisNowMs()
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', nowMs, 'LIMIT', 0, tonumber(ARGV[1]))
local seen = {}
for _, item in ipairs(due) do
  local ws, status, member = parseRetentionItem(item)
  if ws then
    redis.call('ZREM', Keys.workspaceIndex(ws), member)
    redis.call('ZREM', Keys.workspaceStatusIndex(ws, status), member)
    if status == 'failed' then redis.call('LREM', KEYS[2], 1, queueEntry(ws, string.match(member, '/(.+)$'))) end
    seen[ws] = true
  end
end
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
-- Exact (not '~'): a stream shorter than a node would never lose an entry to '~'.
-- pcall: a key of another type in the way is left alone.
local oldestKept = string.format('%d', nowMs - tonumber(ARGV[2]) * 1000 + EVENT_SLACK_MS)
for ws in pairs(seen) do redis.pcall('XTRIM', Keys.workspaceEvents(ws), 'MINID', oldestKept) end
return #due
