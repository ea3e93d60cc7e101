--[[
  claimWebhookDeliveries: leases due deliveries to a worker for sending.
  Times come from Redis TIME.

  Input:
    KEYS[1] webhookDue  KEYS[2] webhookLeases
    ARGV[1] deliveries to claim at most  ARGV[2] lease (ms)  ARGV[3] worker id

  Output: {leases recovered, {row, ...}}, each row
    {delivery id, endpoint id, workspace id, job id, event id, event fields (JSON array),
     attempt, lease token, url, secret, previous secret ('' when none or its grace is over)}

  A lease whose deadline passed (its worker died or stalled mid-send) makes
  its delivery due again first, up to 100 per call: the delivery is sent
  again (at least once). A claim counts an attempt; the lease token
  ('<worker id>:<attempt>') fences the finish. A delivery whose endpoint was
  removed is not sent: its chain is dropped.
]]
-- @include keys
-- @include clock
-- @include webhooks
local max, leaseMs, workerId = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local now = redisNowMs()

local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[1], now, id)
end

local rows = {}
if max > 0 then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, max)) do
    redis.call('ZREM', KEYS[1], id)
    local key = Keys.webhookDelivery(id)
    local d = redis.call('HMGET', key, 'endpoint_id', 'workspace_id', 'job_id', 'event_id', 'event', 'attempts')
    if d[1] then
      local ep = redis.call('HMGET', Keys.webhook(d[1]), 'url', 'secret', 'previous_secret', 'previous_until_ms')
      if not ep[1] then
        dropChain(d[1], d[3])
      else
        local attempt = (tonumber(d[6]) or 0) + 1
        local token = workerId .. ':' .. attempt
        redis.call('HSET', key, 'attempts', attempt, 'lease', token)
        redis.call('ZADD', KEYS[2], now + leaseMs, id)
        local previous = (ep[3] and (tonumber(ep[4]) or 0) > now) and ep[3] or ''
        rows[#rows + 1] = {id, d[1], d[2], d[3], d[4], d[5], attempt, token, ep[1], ep[2], previous}
      end
    end
  end
end
return {#expired, rows}
