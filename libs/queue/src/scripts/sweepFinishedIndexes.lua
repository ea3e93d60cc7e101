--[[
  sweepFinishedIndexes: one step of the expiry sweep. A finished job's
  record expires with the retention window (EXPIRE), but its index entry is
  a member of a sorted set, which does not: the sweep walks the
  finished-status indexes (succeeded, failed, cancelled) of the workspaces
  in the registry, and the all-jobs index that releases before it wrote,
  and drops every entry whose record is gone from both schemas. A dead
  letter leaves the dead-letter list with its record. What is stored per
  job for this is nothing: the record's own expiry and the created_at in
  the entry drive it (a finish only makes sure its workspace is in the
  registry: retention.lua sweepLater).

  Only entries of jobs created more than the retention window ago
  (ARGV[1]) are read: a record expires at the earliest a window after it
  finished, so no later than that after it was created; younger entries are
  alive and cost nothing. A job that finished long after it was created
  (delayed, retried) stays in range while it lives and is read once per
  cycle until its record goes.

  A step reads at most ARGV[2] entries (and counts each index it opens as
  one, so a run of empty ones is bounded too), going on from where the last
  step stopped (KEYS[2]: workspace, index, member); the recovery pass runs
  steps until a cycle (every registered workspace once) ends. A workspace
  whose swept indexes are all empty leaves the registry. Idempotent (ZREM):
  two sweeps at once do no harm.

  Input:
    KEYS[1] expiringWorkspaces (lex)  KEYS[2] expirySweep (hash)  KEYS[3] deadLetters
    ARGV[1] retention window (s); 0 reads every entry
    ARGV[2] entries to read at most
  Output: {entries read, entries dropped, 1 when the cycle ended (the next step starts another), else 0}

  Reads index and record keys by computed name (not in KEYS): fine on one
  Redis primary; the Cluster plan adds hash tags.
]]
-- @include clock
-- @include entries
-- @include keys
local window, budget = tonumber(ARGV[1]), tonumber(ARGV[2])
-- Per workspace, in order: the finished statuses, then ('') the all-jobs index of earlier releases.
local SWEPT = {'succeeded', 'failed', 'cancelled', ''}
-- Index members are '<created_at ISO 8601, 24 characters>/<job_id>'.
local ID_FROM = 26

local function sweptKey(ws, i)
  if SWEPT[i] == '' then return Keys.allJobsIndex(ws) end
  return Keys.workspaceStatusIndex(ws, SWEPT[i])
end

-- Exclusive upper bound of the members read: created before now - window.
local upper = window > 0 and '(' .. isoFromMs(redisNowMs() - window * 1000) or '+'

-- Neither copy exists: a scoped record, or a legacy one of this workspace.
local function recordGone(ws, jobId)
  if redis.call('EXISTS', Keys.scopedJob(ws, jobId)) == 1 then return false end
  -- pcall: a legacy key of another type is no copy of this job.
  return redis.pcall('HGET', Keys.legacyJob(jobId), 'workspace_id') ~= ws
end

local state = redis.call('HMGET', KEYS[2], 'ws', 'index', 'at', 'after')
local ws, index, at, after = state[1] or nil, tonumber(state[2]) or 1, state[3] or nil, state[4] or nil
local read, dropped = 0, 0

while budget > 0 do
  if not ws then
    ws = redis.call('ZRANGE', KEYS[1], after and '(' .. after or '-', '+', 'BYLEX', 'LIMIT', 0, 1)[1]
    if not ws then
      redis.call('DEL', KEYS[2])
      return {read, dropped, 1}
    end
    index, at = 1, nil
  end
  local key = sweptKey(ws, index)
  local want = math.min(budget, 500)
  -- pcall: an index of another type (corruption) is passed over.
  local members = redis.pcall('ZRANGE', key, at and '(' .. at or '-', upper, 'BYLEX', 'LIMIT', 0, want)
  if members.err then members = {} end
  local gone = {}
  for _, member in ipairs(members) do
    local jobId = string.sub(member, ID_FROM)
    if recordGone(ws, jobId) then
      gone[#gone + 1] = member
      if SWEPT[index] == 'failed' then redis.pcall('LREM', KEYS[3], 1, queueEntry(ws, jobId)) end
    end
  end
  if #gone > 0 then redis.call('ZREM', key, unpack(gone)) end
  read, dropped = read + #members, dropped + #gone
  budget = budget - math.max(1, #members)
  if #members == want then
    at = members[#members]
  elseif index < #SWEPT then
    index, at = index + 1, nil
  else
    -- The workspace is done: every workspace with finished jobs comes here
    -- once per cycle, the place for any other upkeep that follows expiry.
    -- Out of the registry once it has nothing left to sweep (a finish puts it back).
    if redis.call('EXISTS', sweptKey(ws, 1), sweptKey(ws, 2), sweptKey(ws, 3), sweptKey(ws, 4)) == 0 then
      redis.call('ZREM', KEYS[1], ws)
    end
    after, ws, index, at = ws, nil, 1, nil
  end
end

-- The budget is spent: the next step goes on from here.
redis.call('DEL', KEYS[2])
local fields = {'index', index}
if ws then fields[#fields + 1] = 'ws'; fields[#fields + 1] = ws end
if at then fields[#fields + 1] = 'at'; fields[#fields + 1] = at end
if after then fields[#fields + 1] = 'after'; fields[#fields + 1] = after end
redis.call('HSET', KEYS[2], unpack(fields))
return {read, dropped, 0}
