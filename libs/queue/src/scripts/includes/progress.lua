-- progress: what an action reported of its run (reportProgress.lua writes
-- it; README "Progress"). It belongs to one attempt: a job that goes back to
-- `pending` to run again (a retry, a deferral, a lease lost, a release)
-- loses it, so a waiting job never shows the last attempt's figures.
-- Defines: clearProgress.

local function clearProgress(copies)
  for _, key in ipairs(copies) do redis.call('HDEL', key, 'progress', 'progress_message') end
end
