--[[
  removeWebhook: deletes a webhook endpoint.

  Input:
    KEYS[1] webhookCursors
    ARGV[1] endpoint id

  Output: {'removed', workspace id} | {'missing'}

  Its deliveries are not walked here (there may be many): a claim or a
  finish that meets a delivery of a missing endpoint drops its chain. The
  workspace's last endpoint takes the fan-out cursor with it, so its stream
  is read no more.
]]
-- @include keys
local id = ARGV[1]
local key = Keys.webhook(id)
local ws = redis.call('HGET', key, 'workspace_id')
if not ws then return {'missing'} end
redis.call('DEL', key)
local set = Keys.workspaceWebhooks(ws)
redis.call('SREM', set, id)
if redis.call('SCARD', set) == 0 then redis.call('HDEL', KEYS[1], ws) end
return {'removed', ws}
