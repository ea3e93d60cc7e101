/**
 * Each e2e file owns one Redis database number on the test Redis and
 * flushes only that one. Listed here so two files never share a number
 * (files run in parallel). Database 0 is never used by tests.
 */
export const TEST_DB = {
  jobsApi: 1,
  isolation: 2,
  idempotency: 3,
  validation: 4,
  privacy: 5,
  telemetry: 6,
  cli: 7,
  atomicity: 8,
  listing: 9,
  rateLimit: 10,
  legacyRecords: 11,
  worker: 12,
  workerBehaviour: 13,
  migrationCommands: 14,
  migrationReads: 15,
} as const;
