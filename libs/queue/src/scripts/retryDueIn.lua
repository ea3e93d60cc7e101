--[[
  retryDueIn: how long until the earliest retry falls due, by Redis's clock
  (the worker blocks no longer than that; claims promote due retries).

  Input:
    KEYS[1] retryQueue (entries scored by due time, ms)
  Output: milliseconds until it is due (0 when overdue), or -1 when no retry waits
]]
-- @include clock
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #first == 0 then return -1 end
return math.max(0, tonumber(first[2]) - redisNowMs())
