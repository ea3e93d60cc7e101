--[[
  retryDueIn: how long until the earliest retry or delayed job falls due, by
  Redis's clock (the worker blocks no longer than that; claims promote it).

  Input:
    KEYS[1] retryQueue  KEYS[2] delayedQueue (entries scored by due time, ms)
  Output: milliseconds until it is due (0 when overdue), or -1 when none waits
]]
-- @include clock
local earliest
for _, key in ipairs(KEYS) do
  local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if #first > 0 then earliest = math.min(earliest or math.huge, tonumber(first[2])) end
end
if not earliest then return -1 end
return math.max(0, earliest - redisNowMs())
