/**
 * Whether `work` settles (fulfilled or rejected: either way it no longer
 * runs) within `ms` (a shutdown's grace period, a brief wait). Never
 * throws. The timer is cleared either way, so nothing is left behind that
 * keeps a stopped process (or a test) alive for the rest of the period.
 */
export async function settledWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work.then(() => true, () => true), new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
