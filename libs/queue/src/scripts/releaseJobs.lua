--[[
  releaseJobs: gives back jobs a stopping worker did not finish, for
  immediate re-delivery: lease dropped, every copy back to `pending` with the
  interrupted attempt given back, entry at the consuming end of the pending
  list. Times come from Redis TIME.

  Input:
    KEYS[1] leases (members '<entry>|<token>')  KEYS[2] pendingQueue
    ARGV: pairs of entry, token
  Output: number of jobs released
]]
-- @include clock
-- @include entries
-- @include copies
-- @include statusIndex
local nowIso = isoFromMs(redisNowMs())
local released = 0
for i = 1, #ARGV, 2 do
  local entry, token = ARGV[i], ARGV[i + 1]
  if redis.call('ZREM', KEYS[1], leaseMember(entry, token)) == 1 then
    local ws, jobId = splitEntry(entry)
    local copies = jobCopies(ws, jobId)
    if #copies > 0 then
      local f = redis.call('HMGET', copies[1], 'created_at', 'attempts')
      local attempts = math.max(0, (tonumber(f[2]) or 1) - 1)
      setAll(copies, 'status', 'pending', 'attempts', attempts, 'updated_at', nowIso)
      moveStatus(ws, indexMember(f[1] or '', jobId), 'running', 'pending')
      redis.call('RPUSH', KEYS[2], entry)
      released = released + 1
    end
  end
end
return released
