--[[
  claimJobs: promotes due retries, then takes up to ARGV[2] entries off the
  pending list and starts them: every copy of each job goes to `running`
  with attempts + 1, and the entry gets a lease ('<entry>|<token>' scored by its deadline).
  Entries whose job is gone, cancelled or no longer pending are dropped.
  A job past its attempt budget (its workers kept dying) fails here.
  Times come from Redis TIME.

  Input:
    KEYS[1] pendingQueue   KEYS[2] activeQueue   KEYS[3] leases
    KEYS[4] retryQueue     KEYS[5] deadLetters   KEYS[6] retention
    ARGV[1] lease (ms)  ARGV[2] max jobs  ARGV[3] worker id
    ARGV[4] entry a blocking wait moved to the active list, or ''
    ARGV[5] max attempts  ARGV[6] retention (s)

  Output: { { {entry, token, attempts, provider, name, params, actor_id, created_at, started_at}, ... },
            writes skipped because a key of another type was in the way (index,
            retention or dead-letter entries; the jobs themselves are unharmed),
            { {entry, attempts, provider, name} of jobs failed here for their spent attempts (dead letters) } }
  An error, with nothing changed, when the lease set holds another type.
]]
-- @include claim
local broken = leasesKeyError()
if broken then return broken end
local c = claimContext(redisNowMs(), tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[5]), tonumber(ARGV[6]), newWriteBatch())
promoteDueRetries(c.nowMs)
local claims = {}
if ARGV[4] ~= '' and redis.call('LREM', KEYS[2], 1, ARGV[4]) == 1 then startEntry(ARGV[4], c, claims) end
claimUpTo(c, claims)
return {claims, c.writes.skipped, c.gaveUp}
