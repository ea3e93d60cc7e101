import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsString, Matches, Max, Min, ValidateBy } from 'class-validator';
import { IsBelowSetting, IsHostPortList } from './setting-checks.js';
import { isTrustProxySetting } from './trust-proxy.js';

const ON_OFF = ['on', 'off'] as const;
export type OnOff = (typeof ON_OFF)[number];

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
const toLowerTrim = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.trim().toLowerCase() : value;

/** Comma-separated entries, each holding a letter (an entry of digits or separators names no word). */
const REDACT_KEYS_PATTERN = /^\s*(?:[\w. -]*[A-Za-z][\w. -]*)?(?:,\s*(?:[\w. -]*[A-Za-z][\w. -]*)?)*$/;

/**
 * A redis:// or rediss:// URL that the WHATWG parser (the one ioredis uses)
 * reads. Checked here so a malformed one stops start-up with a message that
 * masks its credentials; ioredis would throw an error carrying the URL in
 * clear, which the Nest logger prints.
 */
function isRedisUrl(value: unknown): boolean {
  if (typeof value !== 'string' || /\s/.test(value)) return false;
  try {
    return /^rediss?:$/.test(new URL(value).protocol);
  } catch {
    return false;
  }
}

const IsRedisUrl = () =>
  ValidateBy({
    name: 'isRedisUrl',
    validator: {
      validate: isRedisUrl,
      defaultMessage: () => 'REDIS_URL must be a redis:// or rediss:// URL (percent-encode characters such as / @ : and spaces in the user name and password)',
    },
  });

/** This setting must not exceed another one (Node refuses a headers timeout above the request timeout). */
const NotAbove = (other: keyof RelayConfig) =>
  ValidateBy({
    name: 'notAbove',
    validator: {
      validate: (value, args) => typeof value !== 'number' || value <= Number((args?.object as Record<string, unknown>)[other]),
      defaultMessage: (args) => `${args?.property} must not be greater than ${other}`,
    },
  });

const IsTrustProxy = () =>
  ValidateBy({
    name: 'isTrustProxy',
    validator: {
      validate: (value) => typeof value === 'string' && isTrustProxySetting(value),
      defaultMessage: () => 'TRUST_PROXY must be off, a hop count, or comma-separated proxy addresses or CIDR ranges (or loopback, linklocal, uniquelocal)',
    },
  });

/**
 * Every setting Relay reads, with its default. The property name is the
 * environment variable, so a validation message names the variable as is.
 * `.env.example` lists the same settings; a test keeps the two in step.
 */
export class RelayConfig {
  // --- processes and connection
  @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  PORT = 3000;

  @Transform(toInt) @IsInt() @Min(0) @Max(65535)
  WORKER_PORT = 3001;

  @IsString() @IsRedisUrl()
  REDIS_URL = 'redis://127.0.0.1:6379';

  /** A command that gets no answer within this time fails (the API then answers 503). */
  @Transform(toInt) @IsInt() @Min(50) @Max(60000)
  REDIS_COMMAND_TIMEOUT_MS = 1000;

  /** on: run even when Redis's maxmemory-policy may evict keys (jobs, API keys); warned about, exported as a metric. */
  @Transform(toLowerTrim) @IsIn(ON_OFF)
  REDIS_ALLOW_EVICTION: OnOff = 'off';

  /**
   * Redis Sentinels to ask for the primary, `host:port,...`; empty connects to
   * REDIS_URL's host. With sentinels, REDIS_URL gives only credentials,
   * database and TLS, and a failover is followed without a restart.
   */
  @IsString() @IsHostPortList()
  REDIS_SENTINELS = '';

  /** The name the sentinels monitor the primary under (`sentinel monitor <name> ...`). */
  @IsString() @Matches(/^[A-Za-z0-9._-]+$/, { message: 'REDIS_SENTINEL_MASTER must be a name of letters, digits, . _ -' })
  REDIS_SENTINEL_MASTER = 'mymaster';

  /** Replicas that must hold a submit's jobs (Redis WAIT) before it is answered 2xx; 0 answers without waiting. */
  @Transform(toInt) @IsInt() @Min(0) @Max(100)
  REDIS_MIN_REPLICAS_ACK = 0;

  /** How long a submit waits for those replicas; below the command timeout (checked when REDIS_MIN_REPLICAS_ACK > 0), because WAIT holds the connection it is sent on. */
  @Transform(toInt) @IsInt() @Min(1) @IsBelowSetting('REDIS_COMMAND_TIMEOUT_MS', (s) => Number(s.REDIS_MIN_REPLICAS_ACK) > 0)
  REDIS_MIN_REPLICAS_ACK_TIMEOUT_MS = 500;

  @Transform(toLowerTrim) @IsIn(['fatal', 'error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL = 'log';

  // --- migration flags (SPEC section 3); only the JobStore factory interprets them
  @Transform(toLowerTrim) @IsIn(ON_OFF)
  AI_JOBS_NEW_SCHEMA: OnOff = 'off';

  @Transform(toInt) @IsInt() @Min(0) @Max(100)
  PHASE_1_CANARY_PCT = 100;

  @Transform(toLowerTrim) @IsIn(ON_OFF)
  READ_PREFERS_NEW: OnOff = 'off';

  @Transform(toLowerTrim) @IsIn(ON_OFF)
  READ_FALLBACK_OLD: OnOff = 'on';

  @Transform(toLowerTrim) @IsIn(ON_OFF)
  AI_JOBS_LEGACY_WRITES: OnOff = 'on';

  /**
   * The API indexes predecessor records (`ai:jobs:*` without Relay's fields) at start-up and again
   * every interval, until `relay migrate index --final` declares the predecessor gone; one API
   * process sweeps at a time. A record the predecessor writes is listed within about this time.
   */
  @Transform(toInt) @IsInt() @Min(100) @Max(86400000)
  LEGACY_INDEX_INTERVAL_MS = 60000;

  // --- permissions (SPEC section 6)
  /** Comma-separated action ids or `provider.*`; empty denies every action. */
  @IsString() @Matches(/^[a-z0-9_.*,\s]*$/, { message: 'ACTION_ALLOWLIST must be comma-separated action ids or provider.*' })
  ACTION_ALLOWLIST = '';

  @IsString() @Matches(/^[a-z0-9_.*,\s]*$/, { message: 'ACTION_DENYLIST must be comma-separated action ids or provider.*' })
  ACTION_DENYLIST = '';

  /** JSON: {"<workspace>": {"allow": [...], "deny": [...]}}; checked in parsePermissionRules. */
  @IsString()
  WORKSPACE_ACTION_RULES = '';

  // --- privacy (README "Privacy")
  /** Comma-separated words or compounds (any spelling: `ssn, account_number`) redacted in params output besides the built-in list. */
  @IsString() @Matches(REDACT_KEYS_PATTERN, { message: 'REDACT_KEYS must be comma-separated key words, each with a letter (letters, digits, _ - . and spaces)' })
  REDACT_KEYS = '';

  // --- API limits
  @Transform(toInt) @IsInt() @Min(1024) @Max(10 * 1024 * 1024)
  BODY_MAX_BYTES = 262144;

  @Transform(toInt) @IsInt() @Min(2) @Max(1024 * 1024)
  PARAMS_MAX_BYTES = 16384;

  @Transform(toInt) @IsInt() @Min(1) @Max(64)
  PARAMS_MAX_DEPTH = 8;

  @Transform(toInt) @IsInt() @Min(1) @Max(1000)
  PLAN_MAX_STEPS = 100;

  /** Requests per API key per RATE_LIMIT_WINDOW_MS; 0 turns rate limiting off. */
  @Transform(toInt) @IsInt() @Min(0)
  RATE_LIMIT_MAX = 6000;

  @Transform(toInt) @IsInt() @Min(100)
  RATE_LIMIT_WINDOW_MS = 60000;

  /** Failed authentications (401s) per client address per window; beyond them the address gets 429. 0 turns it off. */
  @Transform(toInt) @IsInt() @Min(0)
  AUTH_FAILURES_MAX = 100;

  @Transform(toInt) @IsInt() @Min(100) @Max(86400000)
  AUTH_FAILURES_WINDOW_MS = 60000;

  /** Which X-Forwarded-For hops to believe for the client address (Express's `trust proxy`); `off` uses the socket's peer. */
  @Transform(toLowerTrim) @IsTrustProxy()
  TRUST_PROXY = 'off';

  // --- HTTP server: bounds on slow and idle clients
  /** The request line and headers must arrive within this time (else 408, connection closed). */
  @Transform(toInt) @IsInt() @Min(100) @Max(600000) @NotAbove('HTTP_REQUEST_TIMEOUT_MS')
  HTTP_HEADERS_TIMEOUT_MS = 10000;

  /** The whole request, body included, must arrive within this time (else 408, connection closed). */
  @Transform(toInt) @IsInt() @Min(100) @Max(3600000)
  HTTP_REQUEST_TIMEOUT_MS = 30000;

  /** Advertised in `Keep-Alive: timeout=N` (whole seconds); Node closes an idle connection 1 s after it. Keep it above a balancer's idle timeout. */
  @Transform(toInt) @IsInt() @Min(1000) @Max(3600000)
  HTTP_KEEP_ALIVE_TIMEOUT_MS = 5000;

  /** Open connections per API process; connections beyond it are closed at once. */
  @Transform(toInt) @IsInt() @Min(1) @Max(1000000)
  HTTP_MAX_CONNECTIONS = 1000;

  // --- health
  /** /health/ready probes Redis at most once per interval and serves the cached answer in between. */
  @Transform(toInt) @IsInt() @Min(100) @Max(60000)
  HEALTH_READY_PROBE_INTERVAL_MS = 1000;

  // --- retention
  @Transform(toInt) @IsInt() @Min(1)
  JOB_RETENTION_SECONDS = 86400;

  // --- event streams (README "Event stream")
  /**
   * Events each workspace's stream keeps (ai:events:{ws}): every append trims it with an approximate
   * MAXLEN, so it holds at most about one stream node (≤ 100 entries) more. Age: JOB_RETENTION_SECONDS.
   */
  @Transform(toInt) @IsInt() @Min(1) @Max(10000000)
  EVENTS_MAX_LEN = 10000;

  // --- per-workspace quotas (README "Sizing Redis")
  /** Jobs one workspace may keep stored (pending, running, finished within retention); a submit beyond is 429. 0: no limit. */
  @Transform(toInt) @IsInt() @Min(0)
  WORKSPACE_MAX_STORED_JOBS = 100000;

  /** Bytes of JSON a job's result may take; a larger result fails the job (never stored truncated). */
  @Transform(toInt) @IsInt() @Min(2) @Max(64 * 1024 * 1024)
  RESULT_MAX_BYTES = 262144;

  /** List items carry results of at most this many bytes of JSON; larger ones are left out of list pages (result_omitted). */
  @Transform(toInt) @IsInt() @Min(0) @Max(1024 * 1024)
  LIST_RESULT_MAX_BYTES = 4096;

  /**
   * A `succeeded` event carries the (redacted) result up to this many bytes of JSON; a larger one is
   * left out (result_omitted), so a workspace's stream stays within EVENTS_MAX_LEN × this.
   */
  @Transform(toInt) @IsInt() @Min(0) @Max(1024 * 1024)
  EVENT_RESULT_MAX_BYTES = 4096;

  /** JSON: {"<workspace>": {"max_stored_jobs": N, "result_max_bytes": N, "weight": N, "max_running": N}}: per-workspace overrides; checked in parseWorkspaceLimits. */
  @IsString()
  WORKSPACE_LIMITS = '';

  // --- scheduling between workspaces (SPEC section 10; README "Scheduling")
  /** Jobs one workspace may run at once across every worker (0: no cap); WORKSPACE_LIMITS max_running overrides it. */
  @Transform(toInt) @IsInt() @Min(0) @Max(1000000)
  WORKSPACE_MAX_RUNNING = 0;

  /** JSON: {"<action or provider.*>": {"limit": N, "window_ms": M}}: at most N starts per window per workspace, across workers. */
  @IsString()
  ACTION_RATE_LIMITS = '';

  /** Times an action may defer its job ("rate limited, retry after N ms") without using an attempt; past it, a deferral is an ordinary retry. */
  @Transform(toInt) @IsInt() @Min(0) @Max(1000)
  JOB_MAX_DEFERRALS = 20;

  /** How far ahead run_at / delay_ms may put a job (ms; default 30 days). */
  @Transform(toInt) @IsInt() @Min(1000) @Max(366 * 24 * 3600 * 1000)
  JOB_DELAY_MAX_MS = 2592000000;

  // --- worker (SPEC section 5)
  @Transform(toInt) @IsInt() @Min(1) @Max(1000)
  WORKER_CONCURRENCY = 10;

  /**
   * Jobs a worker holds claimed but not started (leased, still pending), to start the moment a slot
   * frees instead of after a round trip (README "Prefetch"). 0: none (the default: with several
   * worker processes, prefetch loosens start order within a workspace; README says what it trades).
   * Ignored while ACTION_RATE_LIMITS is set (limits count claims, which prefetch would move ahead of starts).
   */
  @Transform(toInt) @IsInt() @Min(0) @Max(1000)
  WORKER_PREFETCH = 0;

  /** A claimed job is re-delivered when its worker has not renewed the lease for this long. */
  @Transform(toInt) @IsInt() @Min(100) @Max(3600000)
  WORKER_LEASE_MS = 30000;

  @Transform(toInt) @IsInt() @Min(0) @Max(3600000)
  WORKER_SHUTDOWN_GRACE_MS = 10000;

  @Transform(toInt) @IsInt() @Min(1) @Max(100)
  JOB_MAX_ATTEMPTS = 3;

  @Transform(toInt) @IsInt() @Min(10) @Max(86400000)
  JOB_TIMEOUT_MS = 60000;

  /** First retry delay; doubles per attempt, with full jitter, capped at JOB_RETRY_MAX_MS. */
  @Transform(toInt) @IsInt() @Min(1) @Max(3600000)
  JOB_RETRY_BASE_MS = 1000;

  @Transform(toInt) @IsInt() @Min(1) @Max(86400000)
  JOB_RETRY_MAX_MS = 300000;

  // --- cancelling running jobs, and progress (README "Cancelling a running job", "Progress")
  /**
   * How long POST /ai/jobs/{id}/cancel waits for a running job to end (200) before answering 202; at
   * most WORKER_LEASE_MS / 3 + 1000 is waited whatever this says (a worker hears of a cancel within a
   * renewal interval). 0 answers 202 at once.
   */
  @Transform(toInt) @IsInt() @Min(0) @Max(30000)
  CANCEL_WAIT_MS = 5000;

  /** A job's progress is written at most once per this interval (the latest report wins; the last one is written before the outcome). */
  @Transform(toInt) @IsInt() @Min(100) @Max(60000)
  PROGRESS_MIN_INTERVAL_MS = 1000;

  // --- http.post action
  /** Comma-separated host or host:port entries http.post may call; empty refuses every call. */
  @IsString() @Matches(/^[A-Za-z0-9.,:\[\]\s-]*$/, { message: 'HTTP_ACTION_ALLOWED_HOSTS must be comma-separated hosts or host:port' })
  HTTP_ACTION_ALLOWED_HOSTS = '';

  @Transform(toInt) @IsInt() @Min(10) @Max(600000)
  HTTP_ACTION_TIMEOUT_MS = 10000;

  @Transform(toInt) @IsInt() @Min(1) @Max(100 * 1024 * 1024)
  HTTP_ACTION_MAX_RESPONSE_BYTES = 1048576;

  // --- webhooks (README "Webhooks"); deliveries follow http.post's outbound policy and limits
  // (HTTP_ACTION_ALLOWED_HOSTS, HTTP_ACTION_TIMEOUT_MS, HTTP_ACTION_MAX_RESPONSE_BYTES)
  /** Webhook deliveries one worker sends at once; 0: this worker sends none (the others do). */
  @Transform(toInt) @IsInt() @Min(0) @Max(1000)
  WEBHOOK_CONCURRENCY = 10;

  /** How often a worker fans new events out to deliveries and looks for due ones. */
  @Transform(toInt) @IsInt() @Min(10) @Max(60000)
  WEBHOOK_POLL_INTERVAL_MS = 250;

  /** First retry delay of a failed delivery; doubles per attempt, with full jitter, capped at WEBHOOK_RETRY_MAX_MS. */
  @Transform(toInt) @IsInt() @Min(1) @Max(3600000)
  WEBHOOK_RETRY_BASE_MS = 5000;

  @Transform(toInt) @IsInt() @Min(1) @Max(86400000)
  WEBHOOK_RETRY_MAX_MS = 3600000;

  /** A delivery is retried until this long after its event was fanned out (at least one attempt), then dead-lettered. */
  @Transform(toInt) @IsInt() @Min(100) @Max(30 * 86400000)
  WEBHOOK_RETRY_PERIOD_MS = 86400000;

  /** Deliveries waiting per endpoint; an event beyond them is dead-lettered at once (bounds Redis memory while an endpoint is down). */
  @Transform(toInt) @IsInt() @Min(1) @Max(10000000)
  WEBHOOK_MAX_PENDING = 10000;

  /** Webhook endpoints one workspace may register. */
  @Transform(toInt) @IsInt() @Min(1) @Max(100)
  WEBHOOK_MAX_PER_WORKSPACE = 10;

  /** Dead-lettered deliveries kept per workspace (the newest), each for at most WEBHOOK_DEAD_LETTER_TTL_SECONDS. */
  @Transform(toInt) @IsInt() @Min(1) @Max(1000000)
  WEBHOOK_DEAD_LETTER_MAX = 1000;

  @Transform(toInt) @IsInt() @Min(1) @Max(366 * 86400)
  WEBHOOK_DEAD_LETTER_TTL_SECONDS = 604800;

  /** After `relay webhooks rotate-secret`, deliveries carry a second signature made with the previous secret for this long; 0: none. */
  @Transform(toInt) @IsInt() @Min(0) @Max(30 * 86400000)
  WEBHOOK_SECRET_GRACE_MS = 86400000;

  // --- telemetry (SPEC section 7)
  @Transform(toLowerTrim) @IsIn(ON_OFF)
  METRICS_WORKSPACE_LABEL: OnOff = 'off';

  @IsString() @Matches(/^[a-z0-9_,\s-]*$/, { message: 'METRICS_WORKSPACE_ALLOWLIST must be comma-separated workspace ids' })
  METRICS_WORKSPACE_ALLOWLIST = '';
}

export type RelaySettingName = keyof RelayConfig;
