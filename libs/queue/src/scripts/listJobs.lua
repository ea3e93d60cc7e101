--[[
  listJobs: one page of a workspace's jobs, newest first, from its index.

  Input:
    KEYS[1]  workspaceIndex(ws) or workspaceStatusIndex(ws, status)
    ARGV[1]  workspace id
    ARGV[2]  exclusive upper bound: '+' for the first page, '(' .. member after that
    ARGV[3]  page size (limit)
    ARGV[4]  routing: 'legacy' | 'scoped' | 'scoped-then-legacy'
    ARGV[5]  status the records must have, or '' for any
    ARGV[6]  the largest result (bytes) a row carries; a larger one is left out
    ARGV[7..] the fields to return for each job (not `result`)

  Output:
    {next_member or '', served_from_new, served_from_old, {values..., result, omitted}, ...}
    Values are in ARGV[7..] order, then the result (false when left out or
    unset) and '1' when it was left out for its size, else '0'. A large
    result is never read (HSTRLEN first), so one tenant paging through big
    results costs Redis about what any other page costs. next_member is set
    only when another job follows the last one returned. Index entries whose
    record is gone (expired, or not on the read path) are passed over, never
    returned.

  Reads records by computed key name (not in KEYS): fine on one Redis
  primary; the Cluster plan adds hash tags.
]]
-- @include keys
local ws, bound, limit, routing, wantStatus = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local resultCap = tonumber(ARGV[6])
local fields = {unpack(ARGV, 7)}
local withResult = {unpack(ARGV, 7)}
withResult[#withResult + 1] = 'result'
local statusPos, wsPos
for i, f in ipairs(fields) do
  if f == 'status' then statusPos = i end
  if f == 'workspace_id' then wsPos = i end
end

-- The row of one record: its fields, then the result when it is small enough.
local function readRow(key)
  local small = redis.call('HSTRLEN', key, 'result') <= resultCap
  local v = redis.call('HMGET', key, unpack(small and withResult or fields))
  if not small then v[#v + 1] = false end
  v[#v + 1] = small and '0' or '1'
  return v
end

local function lookup(jobId)
  if routing ~= 'legacy' then
    local v = readRow(Keys.scopedJob(ws, jobId))
    if v[wsPos] then return v, 'new' end
    if routing == 'scoped' then return nil end
  end
  local v = readRow(Keys.legacyJob(jobId))
  if v[wsPos] == ws then return v, 'old' end
  return nil
end

local out = {'', 0, 0}
local found, lastMember = 0, nil
local batch = limit + 1
while true do
  local members = redis.call('ZRANGE', KEYS[1], bound, '-', 'BYLEX', 'REV', 'LIMIT', 0, batch)
  for _, member in ipairs(members) do
    local values, path = lookup(string.sub(member, 26))
    if values and (wantStatus == '' or values[statusPos] == wantStatus) then
      if found == limit then
        out[1] = lastMember
        return out
      end
      found = found + 1
      lastMember = member
      if path == 'new' then out[2] = out[2] + 1 else out[3] = out[3] + 1 end
      out[#out + 1] = values
    end
  end
  if #members < batch then return out end
  bound = '(' .. members[#members]
end
