import type { ScenarioResult } from './result.js';

function fmt(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(3);
}

/** The results as a plain-text table: scenario, Relay, comparison, ratio, target, met. */
export function renderTable(rows: ScenarioResult[]): string {
  const header = ['scenario', 'Relay', 'comparison', 'ratio', 'target', 'met'];
  const body = rows.map((r) => [
    r.name,
    `${fmt(r.relay)} ${r.units}`,
    `${fmt(r.comparison)} ${r.units}`,
    `${fmt(r.ratio)}×`,
    r.target,
    r.met === null ? '—' : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join(' | ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...body.map(line)].join('\n');
}
