import { randomUUID } from 'node:crypto';
import { canaryBucket, copiesFor, FlagCombinationError, selectStorageStrategy, type MigrationFlags } from './storage-strategy.js';

const flags = (over: Partial<MigrationFlags> = {}): MigrationFlags => ({
  newSchema: false,
  canaryPct: 100,
  readPrefersNew: false,
  readFallbackOld: true,
  legacyWrites: true,
  ...over,
});

describe('selectStorageStrategy', () => {
  it.each([
    ['phase 0 (defaults)', flags(), { phase: 0, writes: 'legacy', reads: 'legacy', canaryPct: 0 }],
    ['phase 1 canary', flags({ newSchema: true, canaryPct: 10 }), { phase: 1, writes: 'dual-write', reads: 'legacy', canaryPct: 10 }],
    ['phase 1 full', flags({ newSchema: true }), { phase: 1, writes: 'dual-write', reads: 'legacy', canaryPct: 100 }],
    ['phase 2', flags({ newSchema: true, readPrefersNew: true }), { phase: 2, writes: 'dual-write', reads: 'scoped-then-legacy', canaryPct: 100 }],
    ['phase 3', flags({ newSchema: true, readPrefersNew: true, readFallbackOld: false }), { phase: 3, writes: 'dual-write', reads: 'scoped', canaryPct: 100 }],
    ['phase 4', flags({ newSchema: true, readPrefersNew: true, readFallbackOld: false, legacyWrites: false }), { phase: 4, writes: 'scoped', reads: 'scoped', canaryPct: 100 }],
  ])('%s', (_name, input, expected) => {
    expect(selectStorageStrategy(input)).toEqual(expected);
  });

  // Every combination of the four switches, at canary 0, 50 and 100: each is
  // either refused with the flags named, or yields a strategy under which
  // every new job is readable.
  const bools = [false, true];
  const all: MigrationFlags[] = [];
  for (const newSchema of bools)
    for (const readPrefersNew of bools)
      for (const readFallbackOld of bools)
        for (const legacyWrites of bools)
          for (const canaryPct of [0, 50, 100]) all.push({ newSchema, readPrefersNew, readFallbackOld, legacyWrites, canaryPct });

  it.each(all.map((f) => [JSON.stringify(f), f] as const))('%s: refused, or every new job is visible', (_name, f) => {
    let strategy;
    try {
      strategy = selectStorageStrategy(f);
    } catch (e) {
      expect(e).toBeInstanceOf(FlagCombinationError);
      expect((e as Error).message).toMatch(/AI_JOBS_LEGACY_WRITES|READ_PREFERS_NEW|AI_JOBS_NEW_SCHEMA|PHASE_1_CANARY_PCT/);
      return;
    }
    for (let i = 0; i < 200; i++) {
      const copies = copiesFor(strategy, randomUUID());
      expect(copies.legacy || copies.scoped).toBe(true);
      const readsLegacy = strategy.reads !== 'scoped';
      const readsScoped = strategy.reads !== 'legacy';
      expect((copies.legacy && readsLegacy) || (copies.scoped && readsScoped)).toBe(true);
    }
  });

  it('refuses exactly the combinations that would hide jobs', () => {
    const refused = all.filter((f) => {
      try {
        selectStorageStrategy(f);
        return false;
      } catch {
        return true;
      }
    });
    // legacy writes off: refused unless new schema on, prefers new on and canary 100
    // legacy writes on, prefers new on, fallback off: refused unless new schema on and canary 100
    const expected = all.filter(
      (f) =>
        (!f.legacyWrites && !(f.newSchema && f.readPrefersNew && f.canaryPct === 100)) ||
        (f.legacyWrites && f.readPrefersNew && !f.readFallbackOld && !(f.newSchema && f.canaryPct === 100)),
    );
    expect(refused).toEqual(expected);
  });
});

describe('canary', () => {
  it('is deterministic per job id and close to the configured share', () => {
    const ids = Array.from({ length: 5000 }, () => randomUUID());
    expect(ids.map(canaryBucket)).toEqual(ids.map(canaryBucket));
    const strategy = selectStorageStrategy(flags({ newSchema: true, canaryPct: 30 }));
    const share = ids.filter((id) => copiesFor(strategy, id).scoped).length / ids.length;
    expect(share).toBeGreaterThan(0.25);
    expect(share).toBeLessThan(0.35);
  });

  it('gives no scoped copy at 0 % and every job one at 100 %', () => {
    const at = (pct: number) => selectStorageStrategy(flags({ newSchema: true, canaryPct: pct }));
    for (let i = 0; i < 100; i++) {
      const id = randomUUID();
      expect(copiesFor(at(0), id)).toEqual({ legacy: true, scoped: false });
      expect(copiesFor(at(100), id)).toEqual({ legacy: true, scoped: true });
    }
  });
});
