--[[
  finishWebhookDeliveries: records how sends ended. Times come from Redis TIME.

  Input:
    KEYS[1] webhookDue  KEYS[2] webhookLeases
    ARGV[1] retry period (ms): a delivery is retried until this long after it was created
    ARGV[2] dead letters kept per workspace  ARGV[3] and for how long (ms)
    ARGV[4] failed attempts kept per workspace
    then per delivery, 6 values: delivery id, lease token,
      outcome: 'delivered' | 'failed' | 'refused' (by the outbound policy, never sent) | 'released' (not sent: the worker stops)
      retry delay (ms, for 'failed'), error (safe text), HTTP status ('' when none)

  Output: one word per delivery, in order:
    'delivered' | 'retrying' | 'dead_lettered' | 'released'
    'lost'      the token no longer holds the delivery (another worker has it, or it is done)
    'dropped'   its endpoint was removed meanwhile (its chain is dropped)

  A delivered or dead-lettered delivery leaves its chain and the job's next
  delivery to the endpoint is due at once. A failure is dead-lettered when
  refused, or when its retry would fall past the retry period; else it is
  due again after the delay. A finish after the lease expired but before
  another claim still counts (the token is only replaced by a new claim).
]]
-- @include keys
-- @include clock
-- @include webhooks
local period, deadKeep, deadTtl, failuresKeep = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local now = redisNowMs()
local results = {}
for i = 5, #ARGV, 6 do
  local id, token, outcome, delay, err, status = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]), ARGV[i + 4], ARGV[i + 5]
  local key = Keys.webhookDelivery(id)
  local d = redis.call('HMGET', key, 'endpoint_id', 'workspace_id', 'job_id', 'event_id', 'type', 'attempts', 'lease', 'created_ms')
  local result
  if not d[1] or d[7] ~= token then
    result = 'lost'
  else
    local endpointId, ws, jobId, attempts = d[1], d[2], d[3], tonumber(d[6]) or 0
    local endpointKey = Keys.webhook(endpointId)
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZREM', KEYS[1], id)
    if redis.call('EXISTS', endpointKey) == 0 then
      dropChain(endpointId, jobId)
      result = 'dropped'
    elseif outcome == 'released' then
      redis.call('HSET', key, 'attempts', math.max(0, attempts - 1))
      redis.call('HDEL', key, 'lease')
      redis.call('ZADD', KEYS[1], now, id)
      result = 'released'
    elseif outcome == 'delivered' then
      redis.call('HSET', endpointKey, 'last_delivered_at', isoFromMs(now))
      redis.call('HINCRBY', endpointKey, 'pending', -1)
      endChainHead(endpointId, jobId, id, now)
      result = 'delivered'
    else
      local at = isoFromMs(now)
      recordWebhookFailure(ws, {delivery_id = id, webhook_id = endpointId, event_id = d[4], job_id = jobId, type = d[5],
        attempt = attempts, at = at, error = err, status = status}, failuresKeep, deadTtl)
      redis.call('HSET', endpointKey, 'last_failed_at', at, 'last_error', err)
      if outcome == 'refused' or now + delay > (tonumber(d[8]) or now) + period then
        recordWebhookDeadLetter(ws, {delivery_id = id, webhook_id = endpointId, event_id = d[4], job_id = jobId, type = d[5],
          attempts = attempts, dead_at = at, error = err, status = status}, now, deadKeep, deadTtl)
        redis.call('HINCRBY', endpointKey, 'pending', -1)
        endChainHead(endpointId, jobId, id, now)
        result = 'dead_lettered'
      else
        redis.call('HSET', key, 'last_error', err, 'last_status', status)
        redis.call('HDEL', key, 'lease')
        redis.call('ZADD', KEYS[1], now + delay, id)
        result = 'retrying'
      end
    end
  end
  results[#results + 1] = result
end
return results
