-- rotation: per-workspace queues and the weighted rotation between them
-- (README "Scheduling"). Entries enter through the pending list; a claim
-- drains it into each workspace's own list (in submission order), and
-- serves the workspaces that have entries by stride scheduling: each sits in
-- the ready set scored by its pass, the lowest pass goes next, and a start
-- adds 1/weight to it. A workspace that joins (its list was empty) takes the
-- lowest pass of those waiting, so it is served in the next claim, however
-- long the others' backlogs are. A workspace running its max_running waits
-- in the capped set until one of its jobs ends.
-- These keys are fixed names shared by every workspace, used by name (like
-- the job records), so the scripts that requeue keep their KEYS unchanged.
-- @requires keys entries
-- Uses: Keys (generated), splitEntry. Defines: joinRotation, pushBack, pushFront, drainPending,
-- promoteDue, jobsEnded, parseRateRules.

-- A workspace whose list was empty joins the rotation one start ahead of the
-- lowest pass waiting (with none waiting, at the pass last served), so the
-- next claim serves it first; then it shares by weight like the others. (A
-- workspace gains at most one start per time its list empties and refills.)
-- A capped one stays out until a job of it ends.
local function joinRotation(ws)
  if redis.call('SISMEMBER', Keys.cappedWorkspaces, ws) == 1 then return end
  local low = redis.call('ZRANGE', Keys.readyWorkspaces, 0, 0, 'WITHSCORES')
  local pass = low[2] and tonumber(low[2]) - 1 or tonumber(redis.call('GET', Keys.rotationPass) or '0') or 0
  redis.call('ZADD', Keys.readyWorkspaces, 'NX', pass, ws)
end

-- Entries at the back of their workspace's list, oldest first; false when the
-- list's key holds another type (nothing written).
local function pushBack(ws, entries)
  local length = redis.pcall('LPUSH', Keys.workspaceQueue(ws), unpack(entries))
  if type(length) ~= 'number' then return false end
  if length == #entries then joinRotation(ws) end
  return true
end

-- One entry at the front (a job given back, re-delivered, or falling due
-- keeps its place ahead of the workspace's later jobs).
local function pushFront(ws, entry)
  local length = redis.pcall('RPUSH', Keys.workspaceQueue(ws), entry)
  if type(length) ~= 'number' then return false end
  if length == 1 then joinRotation(ws) end
  return true
end

-- Moves up to `limit` entries from the pending list (KEYS[1]) to their
-- workspaces' lists, 1,000 per RPOP, one LPUSH per workspace per batch.
-- Malformed entries (no workspace) are dropped, as a claim always did. A
-- list that cannot take its entries (another type in the way) gets them back
-- on the pending list and stops the drain for this call. Returns the number moved.
local function drainPending(limit)
  local moved = 0
  while moved < limit do
    local want = math.min(1000, limit - moved)
    local entries = redis.call('RPOP', KEYS[1], want)
    if not entries then break end
    local groups, order = {}, {}
    for _, entry in ipairs(entries) do
      local ws = splitEntry(entry)
      if ws then
        local group = groups[ws]
        if not group then
          group = {}
          groups[ws] = group
          order[#order + 1] = ws
        end
        group[#group + 1] = entry
      end
    end
    local refused = false
    for _, ws in ipairs(order) do
      if not pushBack(ws, groups[ws]) then
        refused = true
        for _, entry in ipairs(groups[ws]) do redis.call('RPUSH', KEYS[1], entry) end
      end
    end
    moved = moved + #entries
    if refused or #entries < want then break end
  end
  return moved
end

-- Moves entries of `zset` due by nowMs (up to 1,000) to the front of their
-- workspaces' lists, the earliest due at the very front. An entry whose list
-- refuses it stays in the set.
local function promoteDue(zset, nowMs)
  local due = redis.call('ZRANGEBYSCORE', zset, '-inf', nowMs, 'LIMIT', 0, 1000)
  for i = #due, 1, -1 do
    local entry = due[i]
    local ws = splitEntry(entry)
    if not ws then
      redis.call('ZREM', zset, entry)
    elseif pushFront(ws, entry) then
      redis.call('ZREM', zset, entry)
    end
  end
end

-- Jobs of these workspaces ended (finished, released, recovered): their
-- running counts go down, and a capped workspace is back in the rotation (the
-- next claim checks its cap again). `ended` maps workspace → jobs.
local function jobsEnded(ended)
  local anyCapped = redis.call('SCARD', Keys.cappedWorkspaces) > 0
  for ws, n in pairs(ended) do
    local left = redis.pcall('HINCRBY', Keys.runningCounts, ws, -n)
    if type(left) == 'number' and left <= 0 then redis.call('HDEL', Keys.runningCounts, ws) end
    if anyCapped and redis.call('SREM', Keys.cappedWorkspaces, ws) == 1 then joinRotation(ws) end
  end
end

-- ACTION_RATE_LIMITS as the worker passes it: '<rule> <limit> <window ms>'
-- joined by ';' (rule: an action id or 'provider.*'). Returns rule → {limit, window}.
local function parseRateRules(text)
  local rules = {}
  for rule, limit, window in string.gmatch(text, '([^ ;]+) (%d+) (%d+)') do
    rules[rule] = {limit = tonumber(limit), window = tonumber(window)}
  end
  return rules
end
