import { QUEUE_STATES, type QueueDepth } from '@relay/queue';

/** What `relay queue status` prints: the whole queue and each workspace listed, in QUEUE_STATES order. */
export interface QueueStatus {
  totals: QueueDepth;
  workspaces: ({ workspace_id: string } & QueueDepth)[];
  /** More entries than were read in one of the structures the workspaces are found in. */
  workspaces_incomplete: boolean;
}

/** The last row's name: a workspace id never holds a space, so it cannot be taken for one. */
export const TOTALS_ROW = 'whole queue';

/**
 * The status as an aligned table: the workspace column left-aligned, the
 * counts right-aligned under their state, one row per workspace (in the
 * order given) and the whole queue last.
 */
export function queueStatusTable(status: Pick<QueueStatus, 'totals' | 'workspaces'>): string[] {
  const rows: string[][] = [
    ['workspace', ...QUEUE_STATES],
    ...status.workspaces.map((ws) => [ws.workspace_id, ...QUEUE_STATES.map((state) => String(ws[state]))]),
    [TOTALS_ROW, ...QUEUE_STATES.map((state) => String(status.totals[state]))],
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  '));
}
