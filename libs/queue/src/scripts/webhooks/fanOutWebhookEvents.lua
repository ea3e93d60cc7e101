--[[
  fanOutWebhookEvents: turns the new events of every workspace with webhook
  endpoints into deliveries, one per endpoint that wants the event's type.
  One pass per poll interval across all workers (the lock); a workspace
  without endpoints is never read. Times come from Redis TIME.

  Input:
    KEYS[1] webhookCursors  KEYS[2] webhookDue  KEYS[3] webhookFanoutLock
    ARGV[1] lock (ms): the poll interval
    ARGV[2] events read per workspace per call
    ARGV[3] deliveries an endpoint may have waiting (WEBHOOK_MAX_PENDING)
    ARGV[4] dead letters kept per workspace  ARGV[5] and for how long (ms)

  Output:
    {'busy'}   another worker's pass holds the lock (nothing done)
    {'done', events read, deliveries created, more (1: a workspace had more
     events than were read; the lock is released so the next call goes on),
     {workspace, deliveries dead-lettered for a full backlog, ...}}

  Each workspace's cursor (the id of the last event fanned out) moves in the
  same call that writes the deliveries, so an event is fanned out exactly
  once. A delivery joins the end of its endpoint's chain for the job; when it
  is the only one there it is due at once. An endpoint gets only events after
  its from_event (appended after it was added). An endpoint already holding
  ARGV[3] deliveries gets the event as a dead letter instead.
]]
-- @include keys
-- @include clock
-- @include webhooks
-- No workspace has endpoints: nothing to read, and no lock written (an idle Relay writes nothing for webhooks).
if redis.call('EXISTS', KEYS[1]) == 0 then return {'done', 0, 0, 0, {}} end
if not redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[1]) then return {'busy'} end
local batch, maxPending, deadKeep, deadTtl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local now = redisNowMs()

-- Stream ids 'ms-seq', compared as numbers.
local function after(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if not am or not bm then return true end
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am > bm or (am == bm and as > bs)
end

local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return nil
end

local function wants(types, eventType)
  return types == '' or string.find(',' .. types .. ',', ',' .. eventType .. ',', 1, true) ~= nil
end

local read, created, more, deadByWs = 0, 0, 0, {}
local cursors = redis.call('HGETALL', KEYS[1])
for i = 1, #cursors, 2 do
  local ws, cursor = cursors[i], cursors[i + 1]
  local endpoints = {}
  for _, id in ipairs(redis.call('SMEMBERS', Keys.workspaceWebhooks(ws))) do
    local e = redis.call('HMGET', Keys.webhook(id), 'events', 'from_event', 'pending')
    if e[2] then endpoints[#endpoints + 1] = {id = id, types = e[1] or '', from = e[2], pending = tonumber(e[3]) or 0} end
  end
  if #endpoints == 0 then
    redis.call('HDEL', KEYS[1], ws)
  else
    local entries = redis.call('XRANGE', Keys.workspaceEvents(ws), '(' .. cursor, '+', 'COUNT', batch)
    local dead = 0
    for _, entry in ipairs(entries) do
      local eventId, fields = entry[1], entry[2]
      local eventType, jobId = field(fields, 'type'), field(fields, 'job_id')
      for _, ep in ipairs(endpoints) do
        if eventType and jobId and after(eventId, ep.from) and wants(ep.types, eventType) then
          local deliveryId = ep.id .. '-' .. eventId
          if ep.pending >= maxPending then
            recordWebhookDeadLetter(ws, {delivery_id = deliveryId, webhook_id = ep.id, event_id = eventId, job_id = jobId, type = eventType,
              attempts = 0, dead_at = isoFromMs(now), error = 'not sent: the endpoint already had WEBHOOK_MAX_PENDING deliveries waiting', status = ''}, now, deadKeep, deadTtl)
            dead = dead + 1
          else
            redis.call('HSET', Keys.webhookDelivery(deliveryId), 'endpoint_id', ep.id, 'workspace_id', ws, 'job_id', jobId,
              'event_id', eventId, 'type', eventType, 'event', cjson.encode(fields), 'attempts', 0, 'created_ms', now)
            if redis.call('RPUSH', Keys.webhookChain(ep.id, jobId), deliveryId) == 1 then redis.call('ZADD', KEYS[2], now, deliveryId) end
            redis.call('HINCRBY', Keys.webhook(ep.id), 'pending', 1)
            ep.pending = ep.pending + 1
            created = created + 1
          end
        end
      end
    end
    read = read + #entries
    if #entries > 0 then redis.call('HSET', KEYS[1], ws, entries[#entries][1]) end
    if #entries == batch then more = 1 end
    if dead > 0 then
      deadByWs[#deadByWs + 1] = ws
      deadByWs[#deadByWs + 1] = dead
    end
  end
end
if more == 1 then redis.call('DEL', KEYS[3]) end
return {'done', read, created, more, deadByWs}
