import type { ClaimedJob, GivenUpJob, HeldBack } from './script-types.js';

/** A raw script reply, before its method decodes it. */
export type Reply = unknown;

function parseParams(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

/** A claim row: {entry, token, attempts, provider, name, params, actor_id, created_at, started_at, run_at, deferrals}. */
export function claimedJob([entry, token, attempts, provider, name, params, actorId, createdAt, startedAt, runAt, deferrals]: string[]): ClaimedJob {
  const sep = entry.indexOf(':');
  return {
    entry,
    token,
    workspaceId: entry.slice(0, sep),
    jobId: entry.slice(sep + 1),
    attempts: Number(attempts),
    action: `${provider}.${name}`,
    params: parseParams(params),
    actorId,
    createdAt,
    startedAt,
    runAt: runAt ?? '',
    deferrals: Number(deferrals ?? 0) || 0,
  };
}

/** A given-up row: {entry, attempts, provider, name}. */
export function givenUpJob([entry, attempts, provider, name]: string[]): GivenUpJob {
  const sep = entry.indexOf(':');
  return { workspaceId: entry.slice(0, sep), jobId: entry.slice(sep + 1), action: `${provider}.${name}`, attempts: Number(attempts) };
}

/** A held-back row: {reason, workspace, times}. */
export function heldBack([reason, workspaceId, times]: (string | number)[]): HeldBack {
  return { reason: String(reason) as HeldBack['reason'], workspaceId: String(workspaceId), times: Number(times) };
}
