import { Command, InvalidArgumentError } from 'commander';
import { WorkQueue } from '@relay/queue';
import { assertWorkspaceId } from '@relay/workspace';
import type { CliContext } from './cli-context.js';

/** `relay dead list|requeue`: the dead-letter list of jobs that failed their last attempt. */
export function deadCommand(context: CliContext): Command {
  const dead = new Command('dead').description('list and requeue dead-lettered jobs');

  dead
    .command('list')
    .description('dead-lettered jobs, newest first')
    .option('--limit <n>', 'how many (1-10000)', (value: string) => {
      const n = Number(value);
      if (!/^\d+$/.test(value) || n < 1 || n > 10000) throw new InvalidArgumentError('must be a whole number from 1 to 10000');
      return n;
    }, 100)
    .option('--json', 'print JSON')
    .action(async (opts: { limit: number; json?: boolean }) => {
      const entries = await (await context.get(WorkQueue)).listDead(opts.limit);
      const rows = entries.map((e) => ({ workspace_id: e.workspaceId, job_id: e.jobId }));
      if (opts.json) return context.out(JSON.stringify(rows));
      if (rows.length === 0) return context.out('no dead-lettered jobs');
      for (const r of rows) context.out(`${r.workspace_id}  ${r.job_id}`);
    });

  dead
    .command('requeue')
    .description('give a dead-lettered job a fresh set of attempts')
    .requiredOption('--workspace <id>', "the job's workspace")
    .argument('<job_id>', 'the job id')
    .option('--json', 'print JSON')
    .action(async (jobId: string, opts: { workspace: string; json?: boolean }) => {
      const outcome = await (await context.get(WorkQueue)).requeueDead(assertWorkspaceId(opts.workspace), jobId);
      if (opts.json) context.out(JSON.stringify({ workspace_id: opts.workspace, job_id: jobId, outcome }));
      else context.out(outcome === 'requeued' ? `requeued ${jobId}` : outcome === 'gone' ? `${jobId} has expired; entry dropped` : `${jobId} is not in the dead-letter list`);
      if (outcome !== 'requeued') context.fail(1);
    });

  return dead;
}
