--[[
  renewLeases: extends the leases a worker still holds.

  Input:
    KEYS[1] ai:queue:leases  KEYS[2] ai:queue:lease-owners
    ARGV[1] new deadline (ms), then pairs: entry, token
  Output: the entries whose lease the worker no longer holds (it must stop them)
]]
local lost = {}
for i = 2, #ARGV, 2 do
  local entry, token = ARGV[i], ARGV[i + 1]
  if redis.call('HGET', KEYS[2], entry) == token then
    redis.call('ZADD', KEYS[1], 'XX', tonumber(ARGV[1]), entry)
  else
    lost[#lost + 1] = entry
  end
end
return lost
