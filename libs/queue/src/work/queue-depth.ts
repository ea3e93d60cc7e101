import type { Redis } from '@relay/redis';
import { QueueScripts } from '../scripts/queue-scripts.js';

export interface QueueDepth {
  /** Waiting to run now: in the pending list or a workspace's queue. */
  pending: number;
  /** Leased by a worker. */
  running: number;
  /** Not yet due: run_at/delay_ms, held by a rate limit, or deferred by an action's Retry-After. */
  delayed: number;
  /** Waiting out a retry's backoff. */
  retrying: number;
  /** In the dead-letter list. */
  dead: number;
}

export const QUEUE_STATES = ['pending', 'running', 'delayed', 'retrying', 'dead'] as const satisfies readonly (keyof QueueDepth)[];

/**
 * Entries of the delayed set and of the retry set read per reading to tell
 * whose they are (each is one sorted set for every workspace, scored by due
 * time). Past this many, a workspace's later delayed or retrying jobs count
 * as its pending.
 */
export const QUEUE_ENTRIES_READ_MAX = 10_000;

export interface DepthReading {
  /** The whole queue: the pending list and the workspace queues in the rotation, the leases, the delayed and retry sets, the dead-letter list. */
  total: QueueDepth;
  /** Each requested workspace's own jobs. */
  byWorkspace: Map<string, QueueDepth>;
}

/** One QueueScripts per connection: it registers the scripts on the connection once. */
const scriptsOf = new WeakMap<Redis, QueueScripts>();

/**
 * Reads the queue's depth in one round trip, one script (queueDepth.lua,
 * whose header says how each count is made): atomic, because a claim
 * moves entries from the pending list into the workspace queues. A
 * workspace costs three ZCARDs (its status indexes) and the delayed and
 * retry sets are read once, bounded, for all of them; nothing walks the
 * keyspace. The whole queue's pending costs one LLEN per workspace in
 * the rotation.
 */
export async function readQueueDepth(redis: Redis, workspaces: readonly string[]): Promise<DepthReading> {
  let scripts = scriptsOf.get(redis);
  if (!scripts) scriptsOf.set(redis, (scripts = new QueueScripts(redis)));
  const counts = await scripts.queueDepth(workspaces, QUEUE_ENTRIES_READ_MAX);
  // The script answers in QUEUE_STATES order, five numbers per depth.
  const depthAt = (offset: number) => Object.fromEntries(QUEUE_STATES.map((state, i) => [state, Number(counts[offset + i] ?? 0)])) as unknown as QueueDepth;
  const byWorkspace = new Map<string, QueueDepth>();
  workspaces.forEach((ws, i) => byWorkspace.set(ws, depthAt(QUEUE_STATES.length * (i + 1))));
  return { total: depthAt(0), byWorkspace };
}
