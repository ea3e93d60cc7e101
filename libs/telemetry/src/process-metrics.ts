import { collectDefaultMetrics, register } from 'prom-client';

/**
 * prom-client's default set exports these as gauges named `_total`, a suffix
 * Prometheus keeps for counters (`promtool check metrics` reports each one).
 * Nothing is lost without them: the same counts are the per-type gauges
 * beside them, `sum(nodejs_active_handles)` and so on.
 */
const GAUGES_NAMED_LIKE_COUNTERS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/**
 * Node's process metrics (CPU, memory, event loop, GC, handles) in the
 * default registry, once per process: tests build several applications in
 * one process, and prom-client refuses a second registration.
 */
export function collectProcessMetrics(): void {
  if (register.getSingleMetric('process_cpu_user_seconds_total') !== undefined) return;
  collectDefaultMetrics();
  for (const name of GAUGES_NAMED_LIKE_COUNTERS) register.removeSingleMetric(name);
}
