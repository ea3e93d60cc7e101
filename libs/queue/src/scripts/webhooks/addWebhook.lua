--[[
  addWebhook: registers a webhook endpoint of a workspace.
  Times come from Redis TIME.

  Input:
    KEYS[1] webhookCursors
    ARGV[1] endpoint id  ARGV[2] workspace id  ARGV[3] url
    ARGV[4] event types: '' (all) or comma-separated
    ARGV[5] signing secret  ARGV[6] endpoints a workspace may have

  Output:
    {'added', created_at, from_event}
    {'limit', endpoints}   the workspace has its maximum already (nothing written)
    {'exists'}             the endpoint id is taken (nothing written)

  The endpoint gets the events appended to the workspace's stream after this
  call: from_event is the stream's last id now ('0-0' when it has none). The
  workspace's fan-out cursor is set only when it has none (its first
  endpoint); one already there is where the fan-out stands for the others.
]]
-- @include keys
-- @include clock
local id, ws = ARGV[1], ARGV[2]
local key = Keys.webhook(id)
local set = Keys.workspaceWebhooks(ws)
if redis.call('EXISTS', key) == 1 then return {'exists'} end
local count = redis.call('SCARD', set)
if count >= tonumber(ARGV[6]) then return {'limit', count} end
local last = redis.call('XREVRANGE', Keys.workspaceEvents(ws), '+', '-', 'COUNT', 1)
local from = last[1] and last[1][1] or '0-0'
local createdAt = isoFromMs(redisNowMs())
redis.call('HSET', key, 'endpoint_id', id, 'workspace_id', ws, 'url', ARGV[3], 'events', ARGV[4], 'secret', ARGV[5],
  'created_at', createdAt, 'from_event', from, 'pending', 0)
redis.call('SADD', set, id)
redis.call('HSETNX', KEYS[1], ws, from)
return {'added', createdAt, from}
