import { Command } from 'commander';
import { ApiKeyStore } from '@relay/auth';
import type { CliContext } from './cli-context.js';

/** `relay keys create|list|revoke`. */
export function keysCommand(context: CliContext): Command {
  const keys = new Command('keys').description('create, list and revoke API keys');

  keys
    .command('create')
    .description('create an API key; it is printed once and stored only as a hash')
    .requiredOption('--workspace <id>', 'workspace the key belongs to')
    .option('--actor <id>', 'actor recorded on jobs submitted with this key')
    .requiredOption('--scopes <list>', 'comma-separated: actions:execute, actions:preview')
    .option('--json', 'print one JSON object')
    .action(async (opts: { workspace: string; actor?: string; scopes: string; json?: boolean }) => {
      const store = await context.get(ApiKeyStore);
      const created = await store.create({
        workspaceId: opts.workspace,
        actorId: opts.actor,
        scopes: opts.scopes.split(',').map((s) => s.trim()).filter(Boolean),
      });
      if (opts.json) {
        context.out(JSON.stringify({ key: created.key, key_id: created.keyId, workspace_id: created.workspaceId, actor_id: created.actorId, scopes: created.scopes }));
      } else {
        context.out(`API key (shown once, store it now): ${created.key}`);
        context.out(`key id: ${created.keyId}  workspace: ${created.workspaceId}  actor: ${created.actorId}  scopes: ${created.scopes.join(',')}`);
      }
    });

  keys
    .command('list')
    .description("list a workspace's keys (ids and scopes; never the keys)")
    .requiredOption('--workspace <id>', 'workspace')
    .option('--json', 'print JSON')
    .action(async (opts: { workspace: string; json?: boolean }) => {
      const records = await (await context.get(ApiKeyStore)).list(opts.workspace);
      const rows = records.map((r) => ({ key_id: r.keyId, workspace_id: r.workspaceId, actor_id: r.actorId, scopes: r.scopes, created_at: r.createdAt }));
      if (opts.json) return context.out(JSON.stringify(rows));
      if (rows.length === 0) return context.out(`no keys for workspace ${opts.workspace}`);
      for (const r of rows) context.out(`${r.key_id}  ${r.actor_id}  ${r.scopes.join(',')}  ${r.created_at}`);
    });

  keys
    .command('revoke')
    .description('revoke a key by its id; takes effect on the next request')
    .argument('<key_id>', 'the key id shown by create or list')
    .option('--json', 'print JSON')
    .action(async (keyId: string, opts: { json?: boolean }) => {
      const revoked = await (await context.get(ApiKeyStore)).revoke(keyId);
      if (opts.json) context.out(JSON.stringify({ key_id: keyId, revoked }));
      else context.out(revoked ? `revoked ${keyId}` : `no such key: ${keyId}`);
      if (!revoked) context.fail(1);
    });

  return keys;
}
