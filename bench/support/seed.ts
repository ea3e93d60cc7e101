import { createHash, randomUUID } from 'node:crypto';
import { bulk, type RawPipe } from './raw-pipe.js';
import { JOB_FIELDS, type JobHash } from '../../libs/queue/src/job-record.js';
import { RedisKeys } from '@relay/redis';
import { indexMember } from '@relay/queue';

export interface SeedOptions {
  workspace: string;
  count: number;
  params: Record<string, unknown>;
  /** Also write the index entry Relay writes (ai:index:<ws>:status:<status>). */
  indexed: boolean;
  /** created_at of the first job (ms since epoch); each next job is 1 ms later. */
  createdAtMs: number;
  status?: 'pending' | 'succeeded';
}

/** The record fields Relay writes for a job created through RedisJobStore.create (one job, no client_request_id). */
export function legacyRecord(jobId: string, workspace: string, createdAt: string, paramsJson: string, requestHash: string, status: string): JobHash {
  return {
    job_id: jobId,
    workspace_id: workspace,
    actor_id: 'bench-actor',
    action_provider: 'debug',
    action_name: 'echo',
    params: paramsJson,
    status,
    attempts: '0',
    result: '',
    error: '',
    client_request_id: '',
    created_at: createdAt,
    updated_at: createdAt,
    started_at: '',
    finished_at: '',
    request_hash: requestHash,
    run_at: '',
  };
}

/**
 * Writes `count` legacy job records (ai:jobs:<id>, the same 17 fields, in
 * the same order, as Relay) with raw pipelined commands, and, when
 * `indexed`, the same index member Relay adds (`<created_at>/<job_id>` in
 * ai:index:<ws>:status:<status>). Far faster than going
 * through the store, for seeding large keyspaces.
 */
export async function seedLegacyJobs(pipe: RawPipe, options: SeedOptions): Promise<void> {
  const { workspace, count, indexed } = options;
  const status = options.status ?? 'pending';
  const paramsJson = JSON.stringify(options.params);
  // Same length and alphabet as Relay's request fingerprint (sha256, base64url).
  const requestHash = createHash('sha256').update('job').update(paramsJson).digest('base64url');
  const statusIndex = RedisKeys.workspaceStatusIndex(workspace, status);
  let members: string[] = [];
  const flushIndex = () => {
    if (members.length === 0) return;
    pipe.command('ZADD', statusIndex, ...members);
    members = [];
  };
  // The HSET command is assembled from pre-encoded pieces: only job_id and the timestamps vary.
  const template = legacyRecord('\u0000', workspace, '\u0001', paramsJson, requestHash, status);
  const head = `*${2 + JOB_FIELDS.length * 2}\r\n${bulk('HSET')}`;
  const pieces: (string | 0 | 1)[] = [];
  let constant = '';
  for (const f of JOB_FIELDS) {
    constant += bulk(f);
    const value = template[f];
    if (value === '\u0000' || value === '\u0001') {
      pieces.push(constant, value === '\u0000' ? 0 : 1);
      constant = '';
    } else {
      constant += bulk(value);
    }
  }
  pieces.push(constant);
  for (let i = 0; i < count; i++) {
    const jobId = randomUUID();
    const createdAt = new Date(options.createdAtMs + i).toISOString();
    const id = bulk(jobId);
    const at = bulk(createdAt);
    let resp = head + bulk(RedisKeys.legacyJob(jobId));
    for (const piece of pieces) resp += piece === 0 ? id : piece === 1 ? at : piece;
    pipe.encoded(resp);
    if (indexed) {
      members.push('0', indexMember(createdAt, jobId));
      if (members.length >= 2000) flushIndex();
    }
    if (i % 256 === 0) await pipe.maybeWrite();
  }
  flushIndex();
  await pipe.maybeWrite();
}
