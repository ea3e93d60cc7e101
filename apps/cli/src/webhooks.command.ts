import { Command, InvalidArgumentError } from 'commander';
import { WebhookStore, type WebhookEndpoint } from '@relay/queue';
import { assertWorkspaceId } from '@relay/workspace';
import type { CliContext } from './cli-context.js';

const limitOption = (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1000) throw new InvalidArgumentError('must be a whole number from 1 to 1000');
  return n;
};

/** An endpoint as printed: everything but its secret, which only add and rotate-secret show. */
const endpointRow = (e: WebhookEndpoint) => ({
  webhook_id: e.webhookId,
  workspace_id: e.workspaceId,
  url: e.url,
  events: e.events,
  created_at: e.createdAt,
  pending: e.pending,
  last_delivered_at: e.lastDeliveredAt,
  last_failed_at: e.lastFailedAt,
  last_error: e.lastError,
  secret_rotated_at: e.secretRotatedAt,
  previous_secret_valid_until: e.previousSecretValidUntil,
});

/** `relay webhooks add|list|remove|rotate-secret|deliveries` (README "Webhooks"). */
export function webhooksCommand(context: CliContext): Command {
  const webhooks = new Command('webhooks').description("a workspace's webhook endpoints and their deliveries");

  webhooks
    .command('add')
    .description('register an endpoint; its signing secret is printed once')
    .requiredOption('--workspace <id>', 'the workspace whose job events it receives')
    .requiredOption('--url <url>', 'http(s) URL on HTTP_ACTION_ALLOWED_HOSTS, without credentials')
    .option('--events <list>', 'comma-separated event types (default: all): created, started, progress, retrying, succeeded, failed, cancelled, dead_lettered')
    .option('--json', 'print one JSON object (with the secret)')
    .action(async (opts: { workspace: string; url: string; events?: string; json?: boolean }) => {
      const workspaceId = assertWorkspaceId(opts.workspace);
      const events = opts.events?.split(',').map((s) => s.trim()).filter(Boolean);
      const added = await (await context.get(WebhookStore)).add({ workspaceId, url: opts.url, events });
      if (opts.json) {
        const { webhook_id, workspace_id, url, events: types, created_at } = endpointRow(added);
        return context.out(JSON.stringify({ webhook_id, workspace_id, url, events: types, created_at, secret: added.secret }));
      }
      context.out(`webhook ${added.webhookId} added for workspace ${added.workspaceId}: ${added.url}`);
      context.out(`events: ${added.events.join(',')}`);
      context.out(`signing secret (shown once, store it now): ${added.secret}`);
    });

  webhooks
    .command('list')
    .description("a workspace's endpoints (never their secrets), with their deliveries waiting and last outcomes")
    .requiredOption('--workspace <id>', 'workspace')
    .option('--json', 'print JSON')
    .action(async (opts: { workspace: string; json?: boolean }) => {
      const workspaceId = assertWorkspaceId(opts.workspace);
      const rows = (await (await context.get(WebhookStore)).list(workspaceId)).map(endpointRow);
      if (opts.json) return context.out(JSON.stringify(rows));
      if (rows.length === 0) return context.out(`no webhooks for workspace ${workspaceId}`);
      for (const r of rows) {
        context.out(`${r.webhook_id}  ${r.url}  events ${r.events.join(',')}  pending ${r.pending}  created ${r.created_at}`);
        if (r.last_failed_at) context.out(`  last failure ${r.last_failed_at}: ${r.last_error}`);
      }
    });

  webhooks
    .command('remove')
    .description('delete an endpoint; its waiting deliveries are dropped (one already on the wire may still arrive)')
    .argument('<webhook_id>', 'the id shown by add or list')
    .option('--json', 'print JSON')
    .action(async (webhookId: string, opts: { json?: boolean }) => {
      const workspaceId = await (await context.get(WebhookStore)).remove(webhookId);
      if (opts.json) context.out(JSON.stringify({ webhook_id: webhookId, removed: workspaceId !== undefined }));
      else context.out(workspaceId ? `removed ${webhookId} (workspace ${workspaceId})` : `no such webhook: ${webhookId}`);
      if (!workspaceId) context.fail(1);
    });

  webhooks
    .command('rotate-secret')
    .description('give an endpoint a new signing secret, printed once; the previous one keeps signing too for WEBHOOK_SECRET_GRACE_MS')
    .argument('<webhook_id>', 'the id shown by add or list')
    .option('--json', 'print one JSON object (with the new secret)')
    .action(async (webhookId: string, opts: { json?: boolean }) => {
      const rotated = await (await context.get(WebhookStore)).rotateSecret(webhookId);
      if (!rotated) {
        context.out(opts.json ? JSON.stringify({ webhook_id: webhookId, rotated: false }) : `no such webhook: ${webhookId}`);
        return context.fail(1);
      }
      if (opts.json) {
        return context.out(
          JSON.stringify({ webhook_id: webhookId, workspace_id: rotated.workspaceId, secret: rotated.secret, rotated_at: rotated.rotatedAt, previous_secret_valid_until: rotated.previousValidUntil }),
        );
      }
      context.out(`new signing secret for ${webhookId} (shown once, store it now): ${rotated.secret}`);
      context.out(
        rotated.previousValidUntil
          ? `every delivery sent from now on, retries of earlier events included, is signed with it; until ${rotated.previousValidUntil} each also carries a second v1 signature made with the previous secret`
          : 'every delivery sent from now on, retries of earlier events included, is signed with it alone (WEBHOOK_SECRET_GRACE_MS=0)',
      );
    });

  webhooks
    .command('deliveries')
    .description("a workspace's dead-lettered deliveries and latest failed attempts, newest first")
    .requiredOption('--workspace <id>', 'workspace')
    .option('--limit <n>', 'how many of each (1-1000)', limitOption, 50)
    .option('--json', 'print one JSON object: {dead_letters, recent_failures}')
    .action(async (opts: { workspace: string; limit: number; json?: boolean }) => {
      const workspaceId = assertWorkspaceId(opts.workspace);
      const store = await context.get(WebhookStore);
      const [deadLetters, failures] = await Promise.all([store.deadLetters(workspaceId, opts.limit), store.recentFailures(workspaceId, opts.limit)]);
      if (opts.json) return context.out(JSON.stringify({ dead_letters: deadLetters, recent_failures: failures }));
      context.out(deadLetters.length === 0 ? 'no dead-lettered deliveries' : 'dead-lettered deliveries (newest first):');
      for (const d of deadLetters) context.out(`  ${d.dead_at}  ${d.delivery_id}  ${d.type}  job ${d.job_id}  attempts ${d.attempts}  ${d.error}`);
      context.out(failures.length === 0 ? 'no recent failed attempts' : 'recent failed attempts (newest first):');
      for (const f of failures) context.out(`  ${f.at}  ${f.delivery_id}  attempt ${f.attempt}  ${f.status || '-'}  ${f.error}`);
    });

  return webhooks;
}
