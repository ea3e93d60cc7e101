/**
 * Whether `work` settles (fulfilled or rejected: either way it no longer
 * runs) within `ms`, a shutdown's grace period. The timer
 * is cleared either way, so a stopped worker leaves nothing behind that
 * keeps its process (or a test's) alive for the rest of the period.
 */
export async function drainedWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work.then(() => true, () => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
