-- clock: Redis's clock, the only one scripts use. Every time a script stores
-- (record timestamps) or compares (lease deadlines, due times, expiries)
-- comes from TIME, so skew between API and worker machines can neither
-- expire a lease early nor order jobs wrongly.
-- Defines: redisNowMs(), isoFromMs(ms).

local function redisNowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- ISO 8601 UTC with milliseconds ('2025-10-17T10:15:00.000Z'), as
-- Date.prototype.toISOString writes it. Civil date from days since the
-- epoch (H. Hinnant's algorithm); exact in doubles for any ms since 1970.
local function isoFromMs(ms)
  local secs = math.floor(ms / 1000)
  local days = math.floor(secs / 86400)
  local inDay = secs - days * 86400
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local day = doy - math.floor((153 * mp + 2) / 5) + 1
  local month = mp < 10 and mp + 3 or mp - 9
  local year = yoe + era * 400 + (month <= 2 and 1 or 0)
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', year, month, day,
    math.floor(inDay / 3600), math.floor(inDay % 3600 / 60), inDay % 60, ms - secs * 1000)
end
