-- cancel: the end of a running job whose cancel was requested. cancelJob
-- records the request (the job's entry in the set Keys.cancelRequests) and
-- tells the workers; whatever ends the run (finishJobs, recoverStalled,
-- releaseJobs) takes the entry out of the set and, unless the action
-- finished first (finishJobs keeps a real success or failure), ends the job
-- `cancelled`: final in every copy, finished_at, retention like any final
-- job (its workspace in the expiry sweep's registry: retention.lua), its
-- status index entry moved, the event `cancelled` with reason 'requested'
-- (README "Cancelling a running job").
-- @requires keys copies statusIndex events
-- Uses: Keys (generated). Defines: takeCancelRequest, endCancelled.

-- Whether a cancel was requested for the entry's run; the request is taken
-- either way. (pcall: a key of another type in the way holds no request.)
local function takeCancelRequest(entry)
  return redis.pcall('SREM', Keys.cancelRequests, entry) == 1
end

-- Every copy of a running job to `cancelled`, as a final job; attempt: the run's (its event's).
local function endCancelled(ws, jobId, copies, createdAt, action, attempt, nowIso, retention)
  setAll(copies, 'status', 'cancelled', 'updated_at', nowIso, 'finished_at', nowIso)
  expireAll(copies, retention)
  local member = indexMember(createdAt, jobId)
  moveStatus(ws, member, 'running', 'cancelled')
  -- The record expires; the expiry sweep drops the index entry once it is gone.
  -- (A registry of another type: skipped rather than raise after the writes above.)
  redis.pcall('ZADD', Keys.expiringWorkspaces, 0, ws)
  appendEvent(ws, 'cancelled', jobId, action, 'cancelled', attempt, nowIso, {'reason', 'requested'})
end
