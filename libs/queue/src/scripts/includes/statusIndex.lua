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
-- sorted-set writes.
local function batchMoveStatus(batch, ws, member, from, to)
  batch:zrem(Keys.workspaceStatusIndex(ws, from), member)
  batch:zadd(Keys.workspaceStatusIndex(ws, to), '0', member)
end
