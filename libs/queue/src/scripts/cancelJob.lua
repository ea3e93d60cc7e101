--[[
  cancelJob: cancels a pending job in every copy that exists, atomically.

  Input:
    KEYS[1]  ai:job:{ws}:{id}
    KEYS[2]  ai:jobs:{id}
    KEYS[3]  ai:index:{ws}:status:pending
    KEYS[4]  ai:index:{ws}:status:cancelled
    ARGV[1]  workspace id
    ARGV[2]  job id
    ARGV[3]  now (ISO 8601)
    ARGV[4]  retention, seconds (finished jobs expire)

  Output:
    {'cancelled', created_at}
    {'missing'}             no copy of this job in this workspace
    {'conflict', status}    the job is no longer pending

  The queue entry stays: the worker skips cancelled jobs, which saves an
  O(queue length) LREM here.
]]
local ws, jobId, now, ttl = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local copies = {}
if redis.call('EXISTS', KEYS[1]) == 1 then copies[#copies + 1] = KEYS[1] end
if redis.call('HGET', KEYS[2], 'workspace_id') == ws then copies[#copies + 1] = KEYS[2] end
if #copies == 0 then return {'missing'} end

local current = redis.call('HMGET', copies[1], 'status', 'created_at')
if current[1] ~= 'pending' then return {'conflict', current[1] or ''} end
for _, key in ipairs(copies) do
  redis.call('HSET', key, 'status', 'cancelled', 'updated_at', now, 'finished_at', now)
  redis.call('EXPIRE', key, ttl)
end
local member = current[2] .. '/' .. jobId
redis.call('ZREM', KEYS[3], member)
redis.call('ZADD', KEYS[4], 0, member)
return {'cancelled', current[2]}
