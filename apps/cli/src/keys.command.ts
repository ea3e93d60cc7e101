import { Command } from 'commander';
import { ApiKeyStore, OPERATOR_WORKSPACE } from '@relay/auth';
import { invalidInput } from '@relay/errors';
import type { CliContext } from './cli-context.js';

/** `relay keys create|list|revoke`. */
export function keysCommand(context: CliContext): Command {
  const keys = new Command('keys').description('create, list and revoke API keys');

  keys
    .command('create')
    .description('create an API key; it is printed once and stored only as a hash')
    .option('--workspace <id>', 'workspace the key belongs to (a tenant key)')
    .option('--actor <id>', 'actor recorded on jobs submitted with this key')
    .option('--scopes <list>', 'comma-separated: actions:execute, actions:preview')
    .option('--operator', 'an operator key for the web console (/console): scope relay:operator, no workspace, no tenant scope')
    .option('--json', 'print one JSON object')
    .action(async (opts: { workspace?: string; actor?: string; scopes?: string; operator?: boolean; json?: boolean }) => {
      if (opts.operator && (opts.workspace !== undefined || opts.scopes !== undefined)) {
        throw invalidInput('--operator takes neither --workspace nor --scopes: an operator key has scope relay:operator and no workspace');
      }
      const store = await context.get(ApiKeyStore);
      const created = opts.operator ? await store.createOperator(opts.actor) : await store.create(tenantKeyInput(opts));
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
    .option('--workspace <id>', 'workspace')
    .option('--operator', 'list the operator keys instead')
    .option('--json', 'print JSON')
    .action(async (opts: { workspace?: string; operator?: boolean; json?: boolean }) => {
      if (!opts.operator === (opts.workspace === undefined)) throw invalidInput('give either --workspace W or --operator');
      const records = await (await context.get(ApiKeyStore)).list(opts.operator ? OPERATOR_WORKSPACE : opts.workspace!);
      const rows = records.map((r) => ({ key_id: r.keyId, workspace_id: r.workspaceId, actor_id: r.actorId, scopes: r.scopes, created_at: r.createdAt }));
      if (opts.json) return context.out(JSON.stringify(rows));
      if (rows.length === 0) return context.out(opts.operator ? 'no operator keys' : `no keys for workspace ${opts.workspace}`);
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

/** A tenant key needs a workspace and scopes; an operator key takes neither (it has its own scope and no workspace). */
function tenantKeyInput(opts: { workspace?: string; actor?: string; scopes?: string }) {
  if (opts.workspace === undefined || opts.scopes === undefined) throw invalidInput('keys create needs --workspace W and --scopes LIST, or --operator');
  return { workspaceId: opts.workspace, actorId: opts.actor, scopes: opts.scopes.split(',').map((s) => s.trim()).filter(Boolean) };
}
