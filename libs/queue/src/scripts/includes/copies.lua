-- copies: finding and changing every copy of a job.
-- A job of workspace ws has a scoped record, a legacy record whose
-- workspace_id is ws, or both (during the migration); status changes go to
-- each. pcall: a key of another type in the way is not a copy (and must not
-- abort the script half-way); HGET/HEXISTS/HMGET answer for hashes only.
-- @requires keys
-- Uses: Keys (generated). Defines: jobCopies, readCopies, readCopiesLegacyFirst, setAll, expireAll.

-- The existing copies, the scoped one first.
local function jobCopies(ws, jobId)
  local copies = {}
  local scoped = Keys.scopedJob(ws, jobId)
  if redis.pcall('HEXISTS', scoped, 'job_id') == 1 then copies[#copies + 1] = scoped end
  local legacy = Keys.legacyJob(jobId)
  if redis.pcall('HGET', legacy, 'workspace_id') == ws then copies[#copies + 1] = legacy end
  return copies
end

-- jobCopies, and `...` (field names) read from the first copy in the same
-- reads: {copies}, {values}, and true when the job has its legacy copy only.
-- Two calls where jobCopies + HMGET take three (the claim's hot path).
local function readCopies(ws, jobId, ...)
  local scoped = Keys.scopedJob(ws, jobId)
  local legacy = Keys.legacyJob(jobId)
  local f = redis.pcall('HMGET', scoped, 'job_id', ...)
  if type(f) == 'table' and f[1] then
    table.remove(f, 1)
    if redis.pcall('HGET', legacy, 'workspace_id') == ws then return {scoped, legacy}, f, false end
    return {scoped}, f, false
  end
  f = redis.pcall('HMGET', legacy, 'workspace_id', ...)
  if type(f) == 'table' and f[1] == ws then
    table.remove(f, 1)
    return {legacy}, f, true
  end
  return {}, {}, false
end

-- readCopies, probing the legacy copy first: where jobs have only a legacy
-- copy (phase 0, a canary's other jobs), one full read and one cheap check
-- instead of a full read that misses and another. Same answer.
local function readCopiesLegacyFirst(ws, jobId, ...)
  local legacy = Keys.legacyJob(jobId)
  local f = redis.pcall('HMGET', legacy, 'workspace_id', ...)
  if type(f) == 'table' and f[1] == ws then
    local scoped = Keys.scopedJob(ws, jobId)
    if redis.pcall('HEXISTS', scoped, 'job_id') == 1 then return readCopies(ws, jobId, ...) end
    table.remove(f, 1)
    return {legacy}, f, true
  end
  return readCopies(ws, jobId, ...)
end

-- Sets fields on every copy.
local function setAll(copies, ...)
  for _, key in ipairs(copies) do redis.call('HSET', key, ...) end
end

-- Finished jobs expire after the retention window, in every copy.
local function expireAll(copies, seconds)
  for _, key in ipairs(copies) do redis.call('EXPIRE', key, seconds) end
end
