--[[
  compareJobs: field-by-field comparison of a batch of legacy records with
  their workspace-scoped copies (both read in one atomic step, so a status
  update in flight cannot show as a divergence).

  Input:
    KEYS[1..n] legacyJob(id) keys found by SCAN
  Output:
    {matching, {missing scoped copy: job ids}, {diverged: 'job_id:field,field'}, {invalid keys}}
]]
-- @include legacyRecord
local matching, missing, diverged, invalid = 0, {}, {}, {}
for _, key in ipairs(KEYS) do
  local kind = redis.call('TYPE', key)['ok']
  if kind ~= 'none' then
    local legacy = kind == 'hash' and toTable(redis.call('HGETALL', key)) or {}
    local jobId, ws = legacyIdentity(key, legacy)
    if not jobId then
      invalid[#invalid + 1] = key
    else
      local scopedFlat = redis.call('HGETALL', Keys.scopedJob(ws, jobId))
      if #scopedFlat == 0 then
        missing[#missing + 1] = jobId
      else
        local scoped = toTable(scopedFlat)
        local fields = {}
        for field, value in pairs(legacy) do
          if scoped[field] ~= value then fields[#fields + 1] = field end
        end
        for field in pairs(scoped) do
          if legacy[field] == nil then fields[#fields + 1] = field end
        end
        if #fields == 0 then
          matching = matching + 1
        else
          table.sort(fields)
          diverged[#diverged + 1] = jobId .. ':' .. table.concat(fields, ',')
        end
      end
    end
  end
end
return {matching, missing, diverged, invalid}
