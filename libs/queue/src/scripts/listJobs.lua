--[[
  listJobs: one page of a workspace's jobs, newest first, from its status
  indexes.

  Input:
    KEYS[1..k]  workspaceStatusIndex(ws, status): the status filter's one,
                or (no filter) all five, merged here
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

  The merge: every status index is ordered alike (members
  '<created_at>/<job_id>', all scores 0, compared as bytes), so the page is
  a k-way merge of their ranges below the bound, each read in batches of
  limit + 1, the greatest head first. A job is in the index of its status,
  and one script reads all of them at one instant, so each job is met once
  whatever status it has, and the cursor (a member: a position in creation
  order, not in any one index) continues the same order on the next page
  whatever statuses changed in between: no job twice, none skipped. A member
  met in two indexes at once (an entry a skipped write left behind:
  writeBatch.lua) is one job, listed once as its record says. Unfiltered
  rows are not checked against the index they came from: the record's
  status is what the row shows. Cost: O(k log n + k limit) for k indexes
  (k = 1 with a filter), plus the entries passed over.

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

-- a > b, compared as bytes like ZRANGE BYLEX (Lua's own < follows the
-- server's LC_COLLATE). Members share a long prefix, so equal 8-byte chunks
-- are skipped first.
local function greater(a, b)
  local i, n = 1, math.min(#a, #b)
  while i <= n and string.sub(a, i, i + 7) == string.sub(b, i, i + 7) do i = i + 8 end
  for j = i, math.min(i + 7, n) do
    local x, y = string.byte(a, j), string.byte(b, j)
    if x ~= y then return x > y end
  end
  return #a > #b
end

-- One index being merged: its current batch and where the next one starts.
local batch = limit + 1
local sources = {}
for i = 1, #KEYS do sources[i] = {key = KEYS[i], items = {}, pos = 1, from = bound, last = false} end

-- The source's greatest member not yet taken, or nil when it has none left.
local function head(s)
  if s.pos > #s.items then
    if s.last then return nil end
    s.items = redis.call('ZRANGE', s.key, s.from, '-', 'BYLEX', 'REV', 'LIMIT', 0, batch)
    s.pos = 1
    s.last = #s.items < batch
    if #s.items == 0 then return nil end
    s.from = '(' .. s.items[#s.items]
  end
  return s.items[s.pos]
end

-- The next member of the merge (taken from every source that has it), or nil.
local function nextMember()
  local best
  for _, s in ipairs(sources) do
    local h = head(s)
    if h and (not best or greater(h, best)) then best = h end
  end
  if not best then return nil end
  for _, s in ipairs(sources) do
    if s.items[s.pos] == best then s.pos = s.pos + 1 end
  end
  return best
end

local out = {'', 0, 0}
local found, lastMember = 0, nil
while true do
  local member = nextMember()
  if not member then return out end
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
