--[[
  releaseJobs: gives back jobs a stopping worker did not finish, for
  immediate re-delivery: lease dropped, every copy back to `pending` with the
  interrupted attempt given back (a prefetched job, never started, is pending
  already: only its entry goes back), entry at the front of its workspace's list
  (rotation.lua), the workspace's running count down. A job whose cancel
  was requested ends `cancelled` instead (includes/cancel.lua). Times come
  from Redis TIME.

  Input:
    KEYS[1] leases (members '<entry>|<token>')  KEYS[2] pendingQueue
    (and, by name: cancelRequests, expiringWorkspaces)
    ARGV[1] EVENTS_MAX_LEN  ARGV[2] retention (s) of a job cancelled here
    then pairs of entry, token
  Output: {number of jobs released, events skipped (a stream key of another type in the way), jobs cancelled}

  Each job released appends `retrying` (events.lua): status pending, the
  interrupted attempt, retry_at now, reason 'worker_stopped'; one cancelled
  instead appends `cancelled` (reason 'requested').
]]
-- @include clock
-- @include entries
-- @include copies
-- @include statusIndex
-- @include rotation
-- @include events
-- @include cancel
-- @include progress
useEventStream(ARGV[1])
local nowMs = redisNowMs()
local nowIso = isoFromMs(nowMs)
local retention = tonumber(ARGV[2])
-- The error of a released job's event (its record keeps the error it had).
local RELEASED = 'the worker stopped before the attempt ended; it runs again'
local released, cancelled = 0, 0
local ended = {}
-- Last first: each goes to the front of its list, so the jobs keep their order.
for i = #ARGV - 1, 3, -2 do
  local entry, token = ARGV[i], ARGV[i + 1]
  if redis.call('ZREM', KEYS[1], leaseMember(entry, token)) == 1 then
    local ws, jobId = splitEntry(entry)
    ended[ws] = (ended[ws] or 0) + 1
    local copies = jobCopies(ws, jobId)
    if #copies > 0 then
      local f = redis.call('HMGET', copies[1], 'created_at', 'attempts', 'action_provider', 'action_name', 'status')
      local action = (f[3] or '') .. '.' .. (f[4] or '')
      if f[5] == 'pending' then
        -- Prefetched, never started (WORKER_PREFETCH): nothing to give back, nothing to tell; first in line again.
        if not pushFront(ws, entry) then redis.call('RPUSH', KEYS[2], entry) end
        released = released + 1
      elseif takeCancelRequest(entry) then
        endCancelled(ws, jobId, copies, f[1] or '', action, f[2] or '0', nowIso, retention)
        cancelled = cancelled + 1
      else
        local attempts = math.max(0, (tonumber(f[2]) or 1) - 1)
        setAll(copies, 'status', 'pending', 'attempts', attempts, 'updated_at', nowIso)
        clearProgress(copies)
        moveStatus(ws, indexMember(f[1] or '', jobId), 'running', 'pending')
        if not pushFront(ws, entry) then redis.call('RPUSH', KEYS[2], entry) end
        released = released + 1
        appendEvent(ws, 'retrying', jobId, action, 'pending', f[2] or '0', nowIso,
          {'error', RELEASED, 'retry_at', nowIso, 'reason', 'worker_stopped'})
      end
    end
  end
end
jobsEnded(ended)
return {released, eventsSkipped(), cancelled}
