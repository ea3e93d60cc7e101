--[[
  renewLeases: extends the leases a worker still holds.

  Input:
    KEYS[1] leases (members '<entry>|<token>', scored by deadline)
    ARGV[1] lease (ms) from now (Redis TIME), then pairs: entry, token
  Output: the entries whose lease the worker no longer holds (it must stop them)
]]
-- @include clock
-- @include entries
local deadline = redisNowMs() + tonumber(ARGV[1])
local lost = {}
for i = 2, #ARGV, 2 do
  local member = leaseMember(ARGV[i], ARGV[i + 1])
  if redis.call('ZSCORE', KEYS[1], member) then
    redis.call('ZADD', KEYS[1], 'XX', deadline, member)
  else
    lost[#lost + 1] = ARGV[i]
  end
end
return lost
