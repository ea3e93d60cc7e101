-- entries: the shape of queue entries and lease members.
-- A queue entry is '<workspace_id>:<job_id>' (workspace ids hold no ':');
-- a lease is the member '<entry>|<token>' of the lease set.
-- Defines: splitEntry(entry), leaseMember(entry, token), entryOfLease(lease), queueEntry(ws, jobId).

local function splitEntry(entry)
  local sep = string.find(entry, ':', 1, true)
  if not sep then return nil, nil end
  return string.sub(entry, 1, sep - 1), string.sub(entry, sep + 1)
end

local function leaseMember(entry, token)
  return entry .. '|' .. token
end

local function entryOfLease(lease)
  return string.match(lease, '^(.*)|[^|]*$') or lease
end

local function queueEntry(ws, jobId)
  return ws .. ':' .. jobId
end
