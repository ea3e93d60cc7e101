--[[
  requeueDead: an operator gives a dead-lettered job a fresh set of attempts.
  Times come from Redis TIME.

  Input:
    KEYS[1] deadLetters  KEYS[2] pendingQueue  KEYS[3] retention
    ARGV[1] entry  ARGV[2] EVENTS_MAX_LEN
  Output: {'requeued', events skipped} | {'missing'} (not in the dead-letter list) | {'gone'} (record expired; entry dropped)

  A requeued job appends `retrying` (events.lua): status pending, attempt 0
  (its attempts start over), retry_at now, reason 'requeued'. The one event
  after a final one: an operator reopened the job.
]]
-- @include clock
-- @include entries
-- @include copies
-- @include statusIndex
-- @include retention
-- @include events
local entry = ARGV[1]
useEventStream(ARGV[2])
local ws, jobId = splitEntry(entry)
if not ws then return {'missing'} end
local copies = jobCopies(ws, jobId)
local f = #copies > 0 and redis.call('HMGET', copies[1], 'status', 'created_at', 'action_provider', 'action_name') or {}
if redis.call('LREM', KEYS[1], 1, entry) == 0 then return {'missing'} end
if #copies == 0 or not f[1] or not f[2] then return {'gone'} end
local member = indexMember(f[2], jobId)
local nowIso = isoFromMs(redisNowMs())
setAll(copies, 'status', 'pending', 'attempts', 0, 'updated_at', nowIso, 'started_at', '', 'finished_at', '')
for _, key in ipairs(copies) do redis.call('PERSIST', key) end
moveStatus(ws, member, f[1], 'pending')
redis.call('ZREM', KEYS[3], retentionItem(ws, f[1], member))
redis.call('LPUSH', KEYS[2], entry)
appendEvent(ws, 'retrying', jobId, (f[3] or '') .. '.' .. (f[4] or ''), 'pending', '0', nowIso,
  {'error', 'requeued from the dead letters by an operator', 'retry_at', nowIso, 'reason', 'requeued'})
return {'requeued', eventsSkipped()}
