import { Command } from 'commander';
import { findQueueWorkspaces, QUEUE_ENTRIES_READ_MAX, readQueueDepth } from '@relay/queue';
import { Redis } from '@relay/redis';
import { assertWorkspaceId } from '@relay/workspace';
import type { CliContext } from './cli-context.js';
import { queueStatusTable, type QueueStatus } from './queue-status-table.js';

const READ_MAX = QUEUE_ENTRIES_READ_MAX.toLocaleString('en-US');

/** `relay queue status`: what waits, runs and failed, per workspace (README "Operator commands"). */
export function queueCommand(context: CliContext): Command {
  const queue = new Command('queue').description('the job queue');

  queue
    .command('status')
    .description('jobs pending, running, delayed, retrying and dead, per workspace and for the whole queue')
    .option('--workspace <id>', 'only this workspace (the totals stay the whole queue)')
    .option('--json', 'print one JSON object: {totals, workspaces, workspaces_incomplete}')
    .addHelpText(
      'after',
      `
Workspaces listed: those in the scheduling rotation, those running jobs, and
those named by the first ${READ_MAX} entries of each of the delayed set, the
retry set, the dead-letter list and the pending list (from its consuming end).
Past that many, a workspace found only further on is not listed (the output
says so). Per workspace, delayed and retrying count its entries among the first
${READ_MAX} of each set by due time; later ones count as its pending. The
totals are exact.`,
    )
    .action(async (opts: { workspace?: string; json?: boolean }) => {
      // Checked before Redis is touched: a bad id is bad usage (exit 2), whatever the queue holds.
      const only = opts.workspace === undefined ? undefined : assertWorkspaceId(opts.workspace);
      const redis = await context.get(Redis);
      const found = only ? { ids: [only], incomplete: false } : await findQueueWorkspaces(redis);
      const { total, byWorkspace } = await readQueueDepth(redis, found.ids);
      const status: QueueStatus = {
        totals: total,
        workspaces: found.ids.map((workspace_id) => ({ workspace_id, ...byWorkspace.get(workspace_id)! })),
        workspaces_incomplete: found.incomplete,
      };
      if (opts.json) return context.out(JSON.stringify(status));
      for (const line of queueStatusTable(status)) context.out(line);
      if (status.workspaces_incomplete) context.out(`(more than ${READ_MAX} entries in a queue structure: workspaces found only past them are not listed)`);
    });

  return queue;
}
