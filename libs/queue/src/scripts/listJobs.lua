--[[
  listJobs: one page of a workspace's jobs, newest first, from its index.

  Input:
    KEYS[1]  workspaceIndex(ws) or workspaceStatusIndex(ws, status)
    ARGV[1]  workspace id
    ARGV[2]  exclusive upper bound: '+' for the first page, '(' .. member after that
    ARGV[3]  page size (limit)
    ARGV[4]  routing: 'legacy' | 'scoped' | 'scoped-then-legacy'
    ARGV[5]  status the records must have, or '' for any
    ARGV[6..] the fields to return for each job

  Output:
    {next_member or '', served_from_new, served_from_old, {values...}, {values...}, ...}
    Values are in ARGV[6..] order. next_member is set only when another job
    follows the last one returned. Index entries whose record is gone
    (expired, or not on the read path) are passed over, never returned.

  Reads records by computed key name (not in KEYS): fine on one Redis
  primary; the Cluster plan adds hash tags.
]]
-- @include keys
local ws, bound, limit, routing, wantStatus = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5]
local fields = {unpack(ARGV, 6)}
local statusPos, wsPos
for i, f in ipairs(fields) do
  if f == 'status' then statusPos = i end
  if f == 'workspace_id' then wsPos = i end
end

local function lookup(jobId)
  if routing ~= 'legacy' then
    local v = redis.call('HMGET', Keys.scopedJob(ws, jobId), unpack(fields))
    if v[wsPos] then return v, 'new' end
    if routing == 'scoped' then return nil end
  end
  local v = redis.call('HMGET', Keys.legacyJob(jobId), unpack(fields))
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
