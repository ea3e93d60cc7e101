/**
 * The labelled children of one metric, cached by their label values:
 * prom-client hashes the label set on every labelled call, and these are
 * counted on every request. Values are given in the metric's labelNames
 * order. The cache holds what the metric itself holds, so its size is what
 * the workspace-label policy allows.
 */
export class MetricChildren<C> {
  private readonly children = new Map<string, C>();

  constructor(private readonly metric: { labels(...values: string[]): C }) {}

  of(...values: string[]): C {
    // Label values here (workspace ids, fixed words) never hold a newline.
    const key = values.join('\n');
    let child = this.children.get(key);
    if (child === undefined) {
      child = this.metric.labels(...values);
      this.children.set(key, child);
    }
    return child;
  }
}
