--[[
  rotateWebhookSecret: gives an endpoint a new signing secret. The previous
  one is kept for the grace period: deliveries sent meanwhile carry a second
  signature made with it. A second rotation within the grace period forgets
  the oldest secret. Times come from Redis TIME.

  Input:
    ARGV[1] endpoint id  ARGV[2] new secret  ARGV[3] grace (ms; 0: none)

  Output: {'rotated', workspace id, rotated_at, previous secret valid until ('' when no grace)} | {'missing'}
]]
-- @include keys
-- @include clock
local key = Keys.webhook(ARGV[1])
local f = redis.call('HMGET', key, 'secret', 'workspace_id')
if not f[1] then return {'missing'} end
local now = redisNowMs()
local grace = tonumber(ARGV[3])
local validUntil = ''
if grace > 0 then
  validUntil = isoFromMs(now + grace)
  redis.call('HSET', key, 'previous_secret', f[1], 'previous_until_ms', now + grace, 'previous_until', validUntil)
else
  redis.call('HDEL', key, 'previous_secret', 'previous_until_ms', 'previous_until')
end
local rotatedAt = isoFromMs(now)
redis.call('HSET', key, 'secret', ARGV[2], 'rotated_at', rotatedAt)
return {'rotated', f[2], rotatedAt, validUntil}
