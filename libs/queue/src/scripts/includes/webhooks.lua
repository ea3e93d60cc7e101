-- webhooks: the steps webhook deliveries share. A delivery is one event for one
-- endpoint (id '<endpoint id>-<event id>', a hash). The deliveries of one endpoint
-- and one job wait in a chain (a list) in event order, and only the chain's head
-- is due or leased, so a job's later event is never sent to an endpoint before
-- an earlier one was delivered or dead-lettered.
-- @requires keys
-- Uses: Keys (generated). Defines: endChainHead(endpointId, jobId, deliveryId, nowMs),
-- dropChain(endpointId, jobId), recordWebhookDeadLetter(ws, entry, nowMs, keep, ttlMs),
-- recordWebhookFailure(ws, entry, keep, ttlMs).

-- The head of a chain is done with (delivered or dead-lettered): the job's next delivery is due now.
local function endChainHead(endpointId, jobId, deliveryId, nowMs)
  local chain = Keys.webhookChain(endpointId, jobId)
  redis.call('LREM', chain, 1, deliveryId)
  redis.call('DEL', Keys.webhookDelivery(deliveryId))
  local nextId = redis.call('LINDEX', chain, 0)
  if nextId then redis.call('ZADD', Keys.webhookDue, nowMs, nextId) end
end

-- The endpoint is gone: its chain for that job goes, with every delivery in it.
local function dropChain(endpointId, jobId)
  local chain = Keys.webhookChain(endpointId, jobId)
  for _, id in ipairs(redis.call('LRANGE', chain, 0, -1)) do
    redis.call('DEL', Keys.webhookDelivery(id))
    redis.call('ZREM', Keys.webhookDue, id)
    redis.call('ZREM', Keys.webhookLeases, id)
  end
  redis.call('DEL', chain)
end

-- A dead letter (a table, kept as JSON) in the workspace's sorted set, scored by
-- when: the newest `keep`, none older than ttlMs; the key expires ttlMs after the latest.
local function recordWebhookDeadLetter(ws, entry, nowMs, keep, ttlMs)
  local key = Keys.webhookDeadLetters(ws)
  redis.call('ZADD', key, nowMs, cjson.encode(entry))
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (nowMs - ttlMs))
  redis.call('ZREMRANGEBYRANK', key, 0, -(keep + 1))
  redis.call('PEXPIRE', key, ttlMs)
end

-- A failed attempt (a table, kept as JSON) at the front of the workspace's list of the latest `keep`.
local function recordWebhookFailure(ws, entry, keep, ttlMs)
  local key = Keys.webhookFailures(ws)
  redis.call('LPUSH', key, cjson.encode(entry))
  redis.call('LTRIM', key, 0, keep - 1)
  redis.call('PEXPIRE', key, ttlMs)
end
