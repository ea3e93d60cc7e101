/**
 * Every Redis key Relay uses, in one place (README "Redis keys" lists the
 * same). The two job-record prefixes are fixed by other tools: `ai:jobs:`
 * (legacy, plural) and `ai:job:` (workspace-scoped). Every other key lives
 * under `ai:` with a name that matches neither `ai:jobs:*` nor `ai:job:*`.
 */
export const RedisKeys = {
  /** hash: legacy job record; workspace_id is a field. */
  legacyJob: (jobId: string) => `ai:jobs:${jobId}`,
  legacyJobPrefix: 'ai:jobs:',
  /** hash: workspace-scoped job record. */
  scopedJob: (workspaceId: string, jobId: string) => `ai:job:${workspaceId}:${jobId}`,
  scopedJobPrefix: 'ai:job:',
  /** list: queue entries `<workspace_id>:<job_id>` waiting to run (LPUSH in, taken from the right). */
  pendingQueue: 'ai:queue:pending',
  /**
   * list: one workspace's entries waiting to run, in submission order (LPUSH at the back, taken
   * from the right). Claims drain ai:queue:pending into these lists and serve workspaces in rotation.
   */
  workspaceQueue: (workspaceId: string) => `ai:queue:ws:${workspaceId}`,
  /**
   * sorted set: the rotation, workspaces whose queue holds entries and which are below their
   * max_running, scored by their pass (stride scheduling: a start adds 1/weight; the lowest goes next).
   */
  readyWorkspaces: 'ai:queue:ready',
  /** set: workspaces whose queue holds entries but which run max_running jobs; back in the rotation when one ends. */
  cappedWorkspaces: 'ai:queue:capped',
  /** string: the pass of the last workspace served, where a workspace joins when the rotation is empty. */
  rotationPass: 'ai:queue:pass',
  /** hash: workspace → jobs it has leased now (changed with the leases; the recovery sweep recounts it). */
  runningCounts: 'ai:queue:running',
  /** hash: workspace → '<weight> <max_running>' from the workers' WORKSPACE_LIMITS (published at start-up). */
  workspaceSchedule: 'ai:queue:workspace-limits',
  /** sorted set: entries of jobs not yet due (run_at, delay_ms, a rate limit, an action's Retry-After), scored by due time (ms). */
  delayedQueue: 'ai:queue:delayed',
  /** sorted set: starts of one ACTION_RATE_LIMITS rule in one workspace within its window (a sliding log), scored by time (ms). */
  actionRateWindow: (workspaceId: string, rule: string) => `ai:queue:rate:${workspaceId}:${rule}`,
  /** list: entries moved here by a worker's blocking wait (BLMOVE) until its claim script leases them. */
  activeQueue: 'ai:queue:active',
  /**
   * sorted set: leases of jobs being run, members `<entry>|<token>` scored by
   * deadline (ms). Only the token's holder can renew or end a lease (fencing);
   * an expired lease means re-delivery.
   */
  leases: 'ai:queue:leases',
  /**
   * set: entries of running jobs whose cancel was requested (POST /ai/jobs/{id}/cancel), until
   * their run ends (finish, recovery or release takes the entry). Lease renewals read it: the
   * fallback when a worker missed the message on cancelChannel.
   */
  cancelRequests: 'ai:queue:cancel-requests',
  /** pub/sub channel (not a key): the entry of a running job whose cancel was just requested; every worker listens. */
  cancelChannel: 'ai:queue:cancel',
  /** sorted set: entries waiting for a retry, scored by due time (ms). */
  retryQueue: 'ai:queue:retry',
  /** list: entries of jobs that failed their last attempt (dead letters). */
  deadLetters: 'ai:queue:dead',
  /** set: active-list entries seen unleased by the last recovery pass (two-pass stalled check). */
  stalledCheck: 'ai:queue:stalled-check',
  /** string with PX: one recovery pass at a time across all workers. */
  recoveryLock: 'ai:queue:recovery-lock',
  /**
   * sorted set: `<ws>|<status>|<index member>`, scored by expiry (ms), to drop index entries when a
   * record expires: written for predecessor records indexed with a TTL (and by releases before the
   * expiry sweep for every finished job); drained by the recovery pass.
   */
  retention: 'ai:queue:retention',
  /**
   * sorted set (all scores 0, ordered by member): workspaces whose finished-status indexes hold
   * entries, for the expiry sweep (sweepFinishedIndexes.lua); a workspace joins when one of its
   * jobs finishes and leaves when the sweep finds those indexes empty.
   */
  expiringWorkspaces: 'ai:queue:expiring-workspaces',
  /** hash: where the expiry sweep stopped (workspace, index, member), so the next call goes on from there. */
  expirySweep: 'ai:queue:expiry-sweep',
  /**
   * stream: the workspace's job lifecycle events (created, started, retrying, succeeded, …), one
   * entry per change, appended by the script that makes it; capped by EVENTS_MAX_LEN (approximate
   * MAXLEN) and trimmed by age by the expiry sweep as the workspace's finished jobs expire (README "Event stream").
   */
  workspaceEvents: (workspaceId: string) => `ai:events:${workspaceId}`,
  /** string: job id first created for a client_request_id; TTL 24 h. */
  idempotency: (workspaceId: string, clientRequestId: string) => `ai:idempotency:${workspaceId}:${clientRequestId}`,
  /**
   * sorted set (all scores 0, ordered by member): `<created_at ISO 8601>/<job_id>` of the workspace's
   * jobs of one status. A job is in the index of its status; a listing without a status filter merges
   * the five (listJobs.lua).
   */
  workspaceStatusIndex: (workspaceId: string, status: string) => `ai:index:${workspaceId}:status:${status}`,
  /**
   * sorted set: the same members for every job of a workspace, written by releases before the merged
   * listing. No longer written or read; the expiry sweep drops its entries as their records go, and
   * the key with its last one (README "Upgrading: the job indexes").
   */
  allJobsIndex: (workspaceId: string) => `ai:index:${workspaceId}`,
  /** hash: API key record (hash of the key, workspace, actor, scopes). */
  apiKey: (keyId: string) => `ai:apikey:${keyId}`,
  /** set: key ids of a workspace, for `relay keys list`. */
  workspaceApiKeys: (workspaceId: string) => `ai:apikeys:${workspaceId}`,
  /** string: time the last complete pass of the legacy index sweep finished (lists wait for the first one). */
  legacyIndexedMarker: 'ai:migration:legacy-indexed',
  /** string: SCAN cursor of the legacy index sweep's pass in progress, so a restarted API resumes it. */
  legacyIndexCheckpoint: 'ai:migration:legacy-index-cursor',
  /** string with PX: token of the API process sweeping; held for the interval after a pass, so one pass per interval. */
  legacyIndexLock: 'ai:migration:legacy-index-lock',
  /** string: time `relay migrate index --final` declared the predecessor gone; no sweep runs after it. */
  legacyIndexFinal: 'ai:migration:legacy-index-final',
  /** string: SCAN cursor of an unfinished `relay migrate backfill`, to resume from. */
  backfillCheckpoint: 'ai:migration:backfill-cursor',
  /** hash: totals of the current backfill run (scanned, copied, skipped, invalid), kept with the checkpoint. */
  backfillProgress: 'ai:migration:backfill-progress',
  /**
   * sorted set: workspaces that created jobs lately, scored by when (ms); kept only while
   * METRICS_WORKSPACE_LABEL=on without an allowlist, for the worker's per-workspace queue depth.
   */
  activeWorkspaces: 'ai:metrics:active-workspaces',
  /**
   * sorted set: the event streams (SSE) one API key has open across every API replica, members
   * `<replica>:<n>` scored by when their lease ends (ms); replicas renew the leases of their open
   * streams, so those of a replica that died drop out (SSE_MAX_STREAMS_PER_KEY).
   */
  openEventStreams: (keyId: string) => `ai:sse:streams:${keyId}`,
  /** string counter with TTL: requests of one API key in the current rate-limit window. */
  rateLimit: (key: string) => `ai:ratelimit:${key}`,
  // --- webhooks (README "Webhooks"): endpoints, and deliveries fanned out from the workspace event streams
  /** hash: a webhook endpoint: workspace, url, event types, signing secret (and the previous one while a rotation's grace lasts), counters. */
  webhook: (endpointId: string) => `ai:webhook:${endpointId}`,
  /** set: the endpoint ids of a workspace. */
  workspaceWebhooks: (workspaceId: string) => `ai:webhooks:ws:${workspaceId}`,
  /** hash: workspace → id of the last event of its stream fanned out to deliveries; holds exactly the workspaces with endpoints. */
  webhookCursors: 'ai:webhooks:cursors',
  /** hash: one delivery waiting or being sent (an event for an endpoint): ids, the event's fields, attempts, last error, lease. */
  webhookDelivery: (deliveryId: string) => `ai:webhooks:delivery:${deliveryId}`,
  /** list: delivery ids of one endpoint and one job, in event order; only the head is due or leased (per-job order). */
  webhookChain: (endpointId: string, jobId: string) => `ai:webhooks:chain:${endpointId}:${jobId}`,
  /** sorted set: delivery ids due for an attempt (heads of chains), scored by due time (ms). */
  webhookDue: 'ai:webhooks:due',
  /** sorted set: delivery ids being sent, scored by lease deadline (ms); an expired one is due again. */
  webhookLeases: 'ai:webhooks:leases',
  /** sorted set: a workspace's dead-lettered deliveries (JSON), scored by when (ms); capped, and expiring. */
  webhookDeadLetters: (workspaceId: string) => `ai:webhooks:dead:${workspaceId}`,
  /** list: a workspace's latest failed delivery attempts (JSON), newest first; capped, and expiring. */
  webhookFailures: (workspaceId: string) => `ai:webhooks:failures:${workspaceId}`,
  /** string with PX: one fan-out pass per poll interval across all workers. */
  webhookFanoutLock: 'ai:webhooks:fanout-lock',
} as const;
