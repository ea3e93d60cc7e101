--[[
  claimJobs: drains the pending list into the workspaces' lists, promotes
  due retries and delayed jobs, then takes up to ARGV[2] entries from the
  workspaces in rotation (rotation.lua; README "Scheduling") and starts them:
  every copy of each job goes to `running` with attempts + 1, and the entry
  gets a lease ('<entry>|<token>' scored by its deadline).
  Entries whose job is gone, cancelled or no longer pending are dropped.
  A job past its attempt budget (its workers kept dying) fails here; a job
  over a rate limit waits in the delayed set. Times come from Redis TIME.

  Input:
    KEYS[1] pendingQueue   KEYS[2] activeQueue   KEYS[3] leases
    KEYS[4] retryQueue     KEYS[5] deadLetters   KEYS[6] expiringWorkspaces
    (and, by name: workspaceQueue(ws), readyWorkspaces, cappedWorkspaces,
    rotationPass, runningCounts, workspaceSchedule, delayedQueue, actionRateWindow)
    ARGV[1] lease (ms)  ARGV[2] max jobs  ARGV[3] worker id
    ARGV[4] entry a blocking wait moved to the active list, or ''
    ARGV[5] max attempts  ARGV[6] retention (s)
    ARGV[7] WORKSPACE_MAX_RUNNING (0: no cap)  ARGV[8] '1' when workers published WORKSPACE_LIMITS overrides
    ARGV[9] ACTION_RATE_LIMITS as '<rule> <limit> <window ms>' joined by ';' ('' for none)
    ARGV[10] EVENTS_MAX_LEN: a start appends `started`, a give-up `dead_lettered` (events.lua)
    ARGV[11] how many of the ARGV[2] jobs start now ('' for all); the rest are
      prefetched: leased for this worker, still `pending`, started_at '' in their rows
      (the worker starts them later and says so in a finishJobs call, which appends `started`)

  Output: { { {entry, token, attempts, provider, name, params, actor_id, created_at, started_at, run_at, deferrals}, ... },
            writes skipped because a key of another type was in the way (index,
            expiry-registry or dead-letter entries; the jobs themselves are unharmed),
            { {entry, attempts, provider, name} of jobs failed here for their spent attempts (dead letters) },
            { {reason ('max_running' | 'rate_limit'), workspace, times}, ... },
            1 when the call's budget ran out with slots left (more may be waiting: claim again at once), else 0,
            events skipped (a stream key of another type in the way) }
  An error, with nothing changed, when the lease set holds another type.
]]
-- @include claim
local broken = leasesKeyError()
if broken then return broken end
useEventStream(ARGV[10])
local c = claimContext(redisNowMs(), tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[5]), tonumber(ARGV[6]), newWriteBatch(),
  {defaultCap = tonumber(ARGV[7]), readSchedule = ARGV[8] == '1', rateRules = parseRateRules(ARGV[9])}, tonumber(ARGV[11]))
local claims = {}
-- The entry a blocking wait took was the oldest pending one: it goes to its workspace's list like the rest.
if ARGV[4] ~= '' and redis.call('LREM', KEYS[2], 1, ARGV[4]) == 1 then
  local ws = splitEntry(ARGV[4])
  if ws and not pushBack(ws, {ARGV[4]}) then redis.call('RPUSH', KEYS[1], ARGV[4]) end
end
claimUpTo(c, claims)
return {claims, c.writes.skipped, c.gaveUp, heldBackRows(c), c.budgetSpent and 1 or 0, eventsSkipped()}
