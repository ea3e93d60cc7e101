--[[
  renewLeases: extends the leases a worker still holds, and names those of
  its jobs whose cancel was requested (cancelJob): the fallback for a
  message on the cancel channel the worker missed, so a cancel reaches the
  worker within one renewal interval (README "Cancelling a running job").

  Input:
    KEYS[1] leases (members '<entry>|<token>', scored by deadline)
    (and, by name: cancelRequests)
    ARGV[1] lease (ms) from now (Redis TIME), then pairs: entry, token
  Output: {the entries whose lease the worker no longer holds (it must stop them),
           the entries it holds whose cancel was requested (it must stop them too)}
]]
-- @include clock
-- @include entries
-- @include keys
local deadline = redisNowMs() + tonumber(ARGV[1])
local lost, held = {}, {}
for i = 2, #ARGV, 2 do
  local member = leaseMember(ARGV[i], ARGV[i + 1])
  if redis.call('ZSCORE', KEYS[1], member) then
    redis.call('ZADD', KEYS[1], 'XX', deadline, member)
    held[#held + 1] = ARGV[i]
  else
    lost[#lost + 1] = ARGV[i]
  end
end
-- Usually no request waits: one SCARD. (A key of another type in the way holds none.)
local cancel = {}
local requests = redis.pcall('SCARD', Keys.cancelRequests)
if #held > 0 and type(requests) == 'number' and requests > 0 then
  for first = 1, #held, 1000 do
    local last = math.min(first + 999, #held)
    local member = redis.call('SMISMEMBER', Keys.cancelRequests, unpack(held, first, last))
    for j = first, last do
      if member[j - first + 1] == 1 then cancel[#cancel + 1] = held[j] end
    end
  end
end
return {lost, cancel}
