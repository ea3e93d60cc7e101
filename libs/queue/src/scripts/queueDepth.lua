--[[
  queueDepth: the queue's counts, for the whole queue and for the workspaces
  named, read in one atomic step. Atomic because a claim moves entries from
  the pending list into the workspace queues (and workspaces in and out of
  the rotation): sizes read apart could count a moved batch twice or not at
  all. Reads only; nothing walks the keyspace.

  Whole queue: pending = the pending list plus the queue of every workspace
  in the rotation (ready and capped: a workspace whose queue holds entries
  is in one of the two); running = leases; delayed, retrying = the sizes of
  the delayed and retry sets; dead = the dead-letter list.

  A workspace: its `pending` status index holds every job of it that waits
  (in a queue, delayed or waiting for a retry; their status stays pending),
  so its pending is that index less its delayed and retrying entries. Those
  two are counted from the first ARGV[1] entries (by due time) of the
  delayed and retry sets, which all workspaces share: beyond them, a
  workspace's later entries count as its pending. running and dead are its
  `running` and `failed` status indexes (a failed job is exactly a dead letter).
  running comes from the index, not from the running counts (the hash the
  caps are enforced with): the index changes with the job's status and lease
  in every claim, including those of workers of an earlier release, which
  keep no running count (a rolling upgrade), and it is what a listing of
  the workspace's running jobs shows.

  Input:
    KEYS[1] pendingQueue   KEYS[2] readyWorkspaces   KEYS[3] cappedWorkspaces
    KEYS[4] leases         KEYS[5] delayedQueue      KEYS[6] retryQueue
    KEYS[7] deadLetters
    ARGV[1] entries of the delayed set and of the retry set read at most
    ARGV[2..] workspace ids
  Output: {pending, running, delayed, retrying, dead} of the whole queue
    (QUEUE_STATES order, queue-depth.ts), then the same five numbers for
    each workspace of ARGV[2..], in order
]]
-- @include keys
-- @include entries
local pending = redis.call('LLEN', KEYS[1])
local inRotation = {}
for _, ws in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do inRotation[ws] = true end
for _, ws in ipairs(redis.call('SMEMBERS', KEYS[3])) do inRotation[ws] = true end
for ws in pairs(inRotation) do pending = pending + redis.call('LLEN', Keys.workspaceQueue(ws)) end
local reply = {pending, redis.call('ZCARD', KEYS[4]), redis.call('ZCARD', KEYS[5]), redis.call('ZCARD', KEYS[6]), redis.call('LLEN', KEYS[7])}
if #ARGV < 2 then return reply end

-- Entries of one shared set per workspace asked for.
local function countByWorkspace(key, wanted, readMax)
  local counts = {}
  for _, entry in ipairs(redis.call('ZRANGE', key, 0, readMax - 1)) do
    local ws = splitEntry(entry)
    if ws and wanted[ws] then counts[ws] = (counts[ws] or 0) + 1 end
  end
  return counts
end

local wanted = {}
for i = 2, #ARGV do wanted[ARGV[i]] = true end
local readMax = tonumber(ARGV[1])
local delayed = countByWorkspace(KEYS[5], wanted, readMax)
local retrying = countByWorkspace(KEYS[6], wanted, readMax)
for i = 2, #ARGV do
  local ws = ARGV[i]
  local waiting = redis.call('ZCARD', Keys.workspaceStatusIndex(ws, 'pending'))
  local d, r = delayed[ws] or 0, retrying[ws] or 0
  reply[#reply + 1] = math.max(0, waiting - d - r)
  reply[#reply + 1] = redis.call('ZCARD', Keys.workspaceStatusIndex(ws, 'running'))
  reply[#reply + 1] = d
  reply[#reply + 1] = r
  reply[#reply + 1] = redis.call('ZCARD', Keys.workspaceStatusIndex(ws, 'failed'))
end
return reply
