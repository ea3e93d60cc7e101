-- statusIndex: a job's entry in its workspace's per-status index.
-- Index members are '<created_at>/<job_id>', all scores 0.
-- @requires keys
-- Uses: Keys (generated). Defines: indexMember, moveStatus, batchMoveStatus.

local function indexMember(createdAt, jobId)
  return createdAt .. '/' .. jobId
end

-- Moves a member from one status index to another, at once.
local function moveStatus(ws, member, from, to)
  redis.call('ZREM', Keys.workspaceStatusIndex(ws, from), member)
  redis.call('ZADD', Keys.workspaceStatusIndex(ws, to), '0', member)
end

-- The same, gathered in a write batch (see writeBatch) with the call's other
-- sorted-set writes. The index names are built once per workspace and
-- status per batch (a call moves many jobs of few workspaces).
local function batchMoveStatus(batch, ws, member, from, to)
  local names = batch.statusKeys
  if not names then
    names = {}
    batch.statusKeys = names
  end
  local byStatus = names[ws]
  if not byStatus then
    byStatus = {}
    names[ws] = byStatus
  end
  local fromKey, toKey = byStatus[from], byStatus[to]
  if not fromKey then
    fromKey = Keys.workspaceStatusIndex(ws, from)
    byStatus[from] = fromKey
  end
  if not toKey then
    toKey = Keys.workspaceStatusIndex(ws, to)
    byStatus[to] = toKey
  end
  batch:zrem(fromKey, member)
  batch:zadd(toKey, '0', member)
end
