/** One row of the results: a Relay figure against its comparison, and whether the target was met. */
export interface ScenarioResult {
  /** Scenario name, e.g. "worker throughput, concurrency 10". */
  name: string;
  relay: number;
  comparison: number;
  /** The figure the target is checked against; `ratioDefinition` says how it is computed. */
  ratio: number;
  ratioDefinition: string;
  /** Units of `relay` and `comparison`. */
  units: string;
  /** Jobs involved per run (or in Redis, for listing). */
  jobs: number;
  /** The target as written in the issue. */
  target: string;
  /** Whether this row meets its part of the target; null for an informational row that has no target of its own. */
  met: boolean | null;
  /** What "Relay" and "comparison" are here. */
  relayLabel: string;
  comparisonLabel: string;
  /** Every run, options used, breakdowns: whatever helps explain the figure. */
  details: Record<string, unknown>;
}

export type Comparator = '>=' | '<=';

/** Builds a row; `met` compares ratio with threshold (null threshold: informational row). */
export function result(row: Omit<ScenarioResult, 'met'> & { threshold: number | null; comparator: Comparator }): ScenarioResult {
  const { threshold, comparator, ...rest } = row;
  const met = threshold === null || !Number.isFinite(row.ratio) ? (threshold === null ? null : false) : comparator === '>=' ? row.ratio >= threshold : row.ratio <= threshold;
  return { ...rest, met };
}

/** The targets, verbatim. */
export const TARGETS = {
  apiSubmit: '≥ 0.8× its req/s',
  apiBatch: '≥ 1.5×',
  enqueue: '≥ 1.0×',
  worker: '≥ 1.2× at every concurrency',
  redisCpu: '≤ 0.7×',
  list: 'growth ≤ 1.5×; ≥ 50× faster than SCAN at 1M',
  backfill: '≥ 0.8×',
  memory: 'scoped ≤ 1.0×, dual-write ≤ 2.0×',
  // Issue 17 point 3: finished jobs kept for the retention window against BullMQ completed jobs kept.
  finishedMemory: '≤ 1.5× BullMQ',
  // Issue 17 point 3: what a scoped pending job stores beyond the lower-bound row, halved.
  memoryBeyondRecord: '≤ 330 B (half of 656)',
  noisyNeighbour: "B's p99 ≤ 1/50 of BullMQ's",
  // Issue 15 point 8: job finish → the client receives the event, 100 listeners, ~1,000 jobs/s.
  notificationLatency: "p99 ≤ 1.0× BullMQ QueueEvents'",
  // Issue 17 point 1, against Bee-Queue (memory is measured but has no target).
  beeQueueEnqueue: '≥ 1.0× Bee-Queue',
  beeQueueWorker: '≥ 1.3× Bee-Queue at 10 and 100',
  beeQueueRedisCpu: '≤ 1.0× Bee-Queue',
  beeQueueMemory: 'none against Bee-Queue',
  // Issue 17 point 2: concurrency 1 ahead of both (with WORKER_PREFETCH on: README Worker, "Prefetch").
  prefetchWorker: '≥ 1.2× BullMQ and Bee-Queue at concurrency 1',
} as const;
