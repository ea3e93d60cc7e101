--[[
  reportProgress: stores what an action reported of its run (`progress`,
  0-100, and `progress_message`) on every copy of its job, only while the
  caller holds the job's lease (fencing, as finishJobs: an attempt whose
  lease lapsed cannot write over the next one's). The worker throttles the
  calls (README "Progress"). Times come from Redis TIME.

  Input:
    KEYS[1] leases (members '<entry>|<token>')
    ARGV[1] entry  ARGV[2] lease token  ARGV[3] progress (integer text, 0-100)
    ARGV[4] message ('' for none; the worker bounds its length)
  Output: 'done' | 'lost' (the lease is not the caller's) | 'gone' (no copy of the job)
]]
-- @include clock
-- @include entries
-- @include copies
if not redis.call('ZSCORE', KEYS[1], leaseMember(ARGV[1], ARGV[2])) then return 'lost' end
local ws, jobId = splitEntry(ARGV[1])
if not ws then return 'gone' end
local copies = jobCopies(ws, jobId)
if #copies == 0 then return 'gone' end
setAll(copies, 'progress', ARGV[3], 'progress_message', ARGV[4], 'updated_at', isoFromMs(redisNowMs()))
return 'done'
