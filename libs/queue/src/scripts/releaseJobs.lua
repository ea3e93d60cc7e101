--[[
  releaseJobs: gives back jobs a stopping worker did not finish, for
  immediate re-delivery: lease dropped, every copy back to `pending` with the
  interrupted attempt given back, entry at the consuming end of the pending list.

  Input:
    KEYS[1] ai:queue:leases (members '<entry>|<token>')  KEYS[2] ai:queue:pending
    ARGV[1] now (ISO), then pairs: entry, token
  Output: number of jobs released
]]
-- @include jobCopies
local released = 0
for i = 2, #ARGV, 2 do
  local entry, token = ARGV[i], ARGV[i + 1]
  if redis.call('ZREM', KEYS[1], entry .. '|' .. token) == 1 then
    local ws, jobId = splitEntry(entry)
    local copies = jobCopies(ws, jobId)
    if #copies > 0 then
      local f = redis.call('HMGET', copies[1], 'created_at', 'attempts')
      local attempts = math.max(0, (tonumber(f[2]) or 1) - 1)
      setAll(copies, 'status', 'pending', 'attempts', attempts, 'updated_at', ARGV[1])
      moveStatus(ws, (f[1] or '') .. '/' .. jobId, 'running', 'pending')
      redis.call('RPUSH', KEYS[2], entry)
      released = released + 1
    end
  end
end
return released
