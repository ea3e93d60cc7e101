import type { RelayEvent } from '@relay/queue';

/** Which events of the workspace a stream shows: all conditions given must hold. */
export interface EventFilter {
  jobId?: string;
  /** Job statuses after the change. */
  statuses?: ReadonlySet<string>;
  /** Exact action ids. */
  actions?: ReadonlySet<string>;
  /** Providers of `provider.*` entries. */
  providers?: ReadonlySet<string>;
}

export function matchesFilter(filter: EventFilter, event: RelayEvent): boolean {
  if (filter.jobId !== undefined && event.jobId !== filter.jobId) return false;
  if (filter.statuses && !filter.statuses.has(event.status)) return false;
  if (filter.actions || filter.providers) {
    if (filter.actions?.has(event.action)) return true;
    const dot = event.action.indexOf('.');
    return dot > 0 && filter.providers?.has(event.action.slice(0, dot)) === true;
  }
  return true;
}

/** `action` query: comma-separated action ids or `provider.*`. */
export function actionFilter(values: readonly string[]): Pick<EventFilter, 'actions' | 'providers'> {
  const actions = new Set<string>();
  const providers = new Set<string>();
  for (const value of values) {
    if (value.endsWith('.*')) providers.add(value.slice(0, -2));
    else actions.add(value);
  }
  return { ...(actions.size > 0 ? { actions } : {}), ...(providers.size > 0 ? { providers } : {}) };
}
