--[[
  releaseJobs: gives back jobs a stopping worker did not finish, for
  immediate re-delivery: lease dropped, every copy back to `pending`, entry
  at the consuming end of the pending list.

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
      local createdAt = redis.call('HGET', copies[1], 'created_at')
      setAll(copies, 'status', 'pending', 'updated_at', ARGV[1])
      moveStatus(ws, createdAt .. '/' .. jobId, 'running', 'pending')
      redis.call('RPUSH', KEYS[2], entry)
      released = released + 1
    end
  end
end
return released
