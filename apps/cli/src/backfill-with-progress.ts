import type { BackfillTotals } from '@relay/queue';
import type { Redis } from '@relay/redis';
import { BackfillProgress, type ProgressStream } from './backfill-progress.js';
import { countLegacyRecords } from './legacy-record-count.js';

/**
 * Runs a backfill with its progress on `stream` (a bar on a terminal, a line
 * every `intervalMs` otherwise), counting the legacy records for the total
 * alongside, so the backfill starts at once.
 */
export async function backfillWithProgress(
  redis: Redis,
  stream: ProgressStream,
  intervalMs: number,
  run: (onProgress: (totals: BackfillTotals) => void) => Promise<BackfillTotals>,
): Promise<BackfillTotals> {
  const progress = new BackfillProgress(stream, { intervalMs });
  let finished = false;
  progress.start();
  void countLegacyRecords(redis, () => finished)
    .then((total) => total !== undefined && progress.setTotal(total))
    // Only the estimate is lost: the total shows as '?'.
    .catch(() => undefined);
  try {
    return await run((totals) => progress.update(totals));
  } finally {
    finished = true;
    progress.stop();
  }
}
