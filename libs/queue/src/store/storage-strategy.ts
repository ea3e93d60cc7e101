import { createHash } from 'node:crypto';
import { ErrorCode, RelayError } from '@relay/errors';

/** The migration flags of SPEC section 3, as booleans. */
export interface MigrationFlags {
  newSchema: boolean; // AI_JOBS_NEW_SCHEMA
  canaryPct: number; // PHASE_1_CANARY_PCT
  readPrefersNew: boolean; // READ_PREFERS_NEW
  readFallbackOld: boolean; // READ_FALLBACK_OLD
  legacyWrites: boolean; // AI_JOBS_LEGACY_WRITES
}

/** Where single-job and list reads look, in order. */
export type ReadRouting = 'legacy' | 'scoped-then-legacy' | 'scoped';

export type WriteMode = 'legacy' | 'dual-write' | 'scoped';

/** What the flags mean for storage: which copies new jobs get and where reads look. */
export interface StorageStrategy {
  phase: 0 | 1 | 2 | 3 | 4;
  writes: WriteMode;
  /** With dual-write, the share of new jobs (by job id) that also get the scoped copy. */
  canaryPct: number;
  reads: ReadRouting;
}

/** A flag combination that would hide jobs from readers: a configuration error (exit 2 at start-up). */
export class FlagCombinationError extends RelayError {
  constructor(message: string) {
    super(ErrorCode.InvalidConfiguration, `Refusing to start: ${message}`);
    this.name = 'FlagCombinationError';
  }
}

/**
 * flags → strategy, the one place that interprets the migration flags.
 * Combinations that would hide jobs from readers are refused with a message
 * naming the flags.
 */
export function selectStorageStrategy(flags: MigrationFlags): StorageStrategy {
  if (!flags.legacyWrites && !flags.newSchema) {
    throw new FlagCombinationError('AI_JOBS_LEGACY_WRITES=off with AI_JOBS_NEW_SCHEMA=off would write new jobs nowhere');
  }
  if (!flags.legacyWrites && !flags.readPrefersNew) {
    throw new FlagCombinationError('AI_JOBS_LEGACY_WRITES=off needs READ_PREFERS_NEW=on, or readers would not see new jobs');
  }
  if (!flags.legacyWrites && flags.canaryPct !== 100) {
    throw new FlagCombinationError('AI_JOBS_LEGACY_WRITES=off needs PHASE_1_CANARY_PCT=100, or jobs outside the canary would be written nowhere');
  }
  const everyNewJobScoped = flags.newSchema && flags.canaryPct === 100;
  if (flags.legacyWrites && flags.readPrefersNew && !flags.readFallbackOld && !everyNewJobScoped) {
    throw new FlagCombinationError(
      'READ_PREFERS_NEW=on with READ_FALLBACK_OLD=off needs AI_JOBS_NEW_SCHEMA=on and PHASE_1_CANARY_PCT=100, or jobs written only to the legacy schema would be hidden',
    );
  }

  const writes: WriteMode = !flags.legacyWrites ? 'scoped' : flags.newSchema ? 'dual-write' : 'legacy';
  const reads: ReadRouting = !flags.readPrefersNew ? 'legacy' : flags.readFallbackOld ? 'scoped-then-legacy' : 'scoped';
  const phase = writes === 'scoped' ? 4 : reads === 'scoped' ? 3 : reads === 'scoped-then-legacy' ? 2 : writes === 'dual-write' ? 1 : 0;
  return { phase, writes, canaryPct: writes === 'dual-write' ? flags.canaryPct : writes === 'scoped' ? 100 : 0, reads };
}

/** Deterministic canary bucket of a job id, 0–99: the same id always lands in the same bucket. */
export function canaryBucket(jobId: string): number {
  return createHash('sha1').update(jobId).digest().readUInt32BE(0) % 100;
}

/** Which copies a new job gets under a strategy. */
export function copiesFor(strategy: StorageStrategy, jobId: string): { legacy: boolean; scoped: boolean } {
  switch (strategy.writes) {
    case 'legacy':
      return { legacy: true, scoped: false };
    case 'scoped':
      return { legacy: false, scoped: true };
    case 'dual-write':
      return { legacy: true, scoped: canaryBucket(jobId) < strategy.canaryPct };
  }
}
