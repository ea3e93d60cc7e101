import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A function that runs a full garbage collection, without `node
 * --expose-gc` (the test runner's workers do not get that flag): setting the
 * flag at run time exposes `gc` in contexts created afterwards.
 */
export function fullGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as unknown;
  if (typeof gc !== 'function') throw new Error('could not obtain a gc function from V8');
  return gc as () => void;
}
