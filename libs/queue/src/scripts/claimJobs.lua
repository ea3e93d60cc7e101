--[[
  claimJobs: promotes due retries, then takes up to ARGV[4] entries off the
  pending list and starts them: every copy of each job goes to `running`
  with attempts + 1, and the entry gets a lease ('<entry>|<token>' scored by its deadline).
  Entries whose job is gone, cancelled or no longer pending are dropped.
  A job past its attempt budget (its workers kept dying) fails here.

  Input:
    KEYS[1] ai:queue:pending    KEYS[2] ai:queue:active
    KEYS[3] ai:queue:leases     KEYS[4] ai:queue:retry
    KEYS[5] ai:queue:dead       KEYS[6] ai:queue:retention
    ARGV[1] unused (the clock is Redis TIME)  ARGV[2] now (ISO, for the records)  ARGV[3] lease (ms)
    ARGV[4] max jobs  ARGV[5] worker id  ARGV[6] entry a blocking wait moved to the active list, or ''
    ARGV[7] max attempts  ARGV[8] retention (s)

  Output: { { {entry, token, attempts, provider, name, params, actor_id, created_at}, ... },
            writes skipped because a key of another type was in the way (index,
            retention or dead-letter entries; the jobs themselves are unharmed) }
  An error, with nothing changed, when ai:queue:leases holds another type.
]]
-- @include jobCopies
-- @include claimCore
local broken = leasesKeyError()
if broken then return broken end
local c = claimContext(redisNowMs(), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[7]), tonumber(ARGV[8]))
promoteDueRetries(c.nowMs)
local claims = {}
if ARGV[6] ~= '' and redis.call('LREM', KEYS[2], 1, ARGV[6]) == 1 then startEntry(ARGV[6], c, claims) end
claimUpTo(c, claims)
return {claims, skippedWrites}
