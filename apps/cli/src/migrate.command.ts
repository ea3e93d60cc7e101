import { Command, InvalidArgumentError } from 'commander';
import { exitCodeFor } from '@relay/errors';
import { BackfillService, CleanupRefusedError, CleanupService, LegacyIndexer, MigrationStatusService, VerifyService, type BackfillTotals, type MigrationStatus } from '@relay/queue';
import type { CliContext } from './cli-context.js';

/** Option parser: commander reports the InvalidArgumentError as bad usage (exit 2). */
const wholeNumber = (min: number) => (value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min) throw new InvalidArgumentError(`must be a whole number >= ${min}`);
  return n;
};

/** The API's sweep of predecessor records, in words. */
function legacySweepState(sweep: MigrationStatus['legacyIndex']): string {
  if (sweep.final) return `stopped for good (previous system declared gone at ${sweep.final})`;
  const last = sweep.lastPass ? `last pass finished ${sweep.lastPass}` : 'no pass finished yet';
  return sweep.checkpoint ? `${last}; a pass is under way (at cursor ${sweep.checkpoint})` : last;
}

/** `relay migrate status|backfill|verify|cleanup|index` (README "Migration runbook"). */
export function migrateCommand(context: CliContext): Command {
  const migrate = new Command('migrate').description('move job storage from the legacy schema to the workspace-scoped one');

  migrate
    .command('status')
    .description('counts per schema, jobs only in one schema, the phase the flags describe')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const status = await (await context.get(MigrationStatusService)).run();
      if (opts.json) return context.out(JSON.stringify(status));
      context.out(`phase ${status.phase}: writes ${status.strategy.writes}${status.strategy.writes === 'dual-write' ? ` (canary ${status.strategy.canaryPct}%)` : ''}, reads ${status.strategy.reads}`);
      context.out(`legacy records: ${status.legacyRecords} (${status.legacyOnly} only in legacy)`);
      context.out(`scoped records: ${status.scopedRecords} (${status.scopedOnly} only in scoped)`);
      if (status.backfill.checkpoint) context.out(`backfill interrupted at cursor ${status.backfill.checkpoint}: ${JSON.stringify(status.backfill.progress)}`);
      context.out(`legacy index sweep: ${legacySweepState(status.legacyIndex)}`);
      context.out(`ai:job:<id> hashes (no workspace segment): ${status.singularLegacyKeys.count}`);
      // A warning, not a failure: status reports; these records block nothing Relay does, but nothing migrates them either.
      if (status.singularLegacyKeys.count > 0) {
        context.out(
          `warning: ${status.singularLegacyKeys.count} hash(es) at ai:job:<id> (e.g. ${status.singularLegacyKeys.samples.join(', ')}): not a key Relay reads, lists or migrates ` +
            `(legacy records are ai:jobs:<id>, scoped ones ai:job:<workspace>:<id>). If the previous system wrote them, rename them to ai:jobs:<id> before backfill (README "Migration runbook")`,
        );
      }
    });

  migrate
    .command('index')
    .description("index the previous system's records (ai:jobs:*) now, so lists show them; --final: it no longer writes, stop the API's sweeps")
    .option('--final', 'after this pass, declare the previous system gone: no API sweeps again')
    .option('--json', 'print the totals as JSON')
    .action(async (opts: { final?: boolean; json?: boolean }) => {
      const result = await (await context.get(LegacyIndexer)).indexAll({ final: opts.final });
      if (opts.json) return context.out(JSON.stringify({ ...result, final: opts.final ?? false }));
      context.out(`indexed ${result.indexed} predecessor records, moved ${result.moved} to their current status, invalid ${result.invalid}, Relay's own ${result.relayOwn}, failed ${result.failed} (an index key of another type in the way), scanned ${result.scanned}`);
      if (opts.final) context.out('the previous system is declared gone: API processes stop sweeping for its records');
    });

  migrate
    .command('backfill')
    .description('copy legacy records to the scoped schema (idempotent, resumable, never overwrites a newer copy)')
    .option('--dry-run', 'count what would be copied; write nothing')
    .option('--rate <n>', 'records per second at most (0: no limit)', wholeNumber(0), 0)
    .option('--batch <n>', 'keys per SCAN batch', wholeNumber(1), 500)
    .option('--restart', 'ignore a saved checkpoint and start from the beginning')
    .option('--json', 'print the totals as JSON')
    .action(async (opts: { dryRun?: boolean; rate: number; batch: number; restart?: boolean; json?: boolean }) => {
      const tty = process.stderr.isTTY && !opts.json;
      const progress = (t: BackfillTotals) => process.stderr.write(`\rbackfill: scanned ${t.scanned}, copied ${t.copied}, skipped ${t.skipped}, invalid ${t.invalid}   `);
      const totals = await (await context.get(BackfillService)).run({
        dryRun: opts.dryRun,
        rate: opts.rate,
        batchSize: opts.batch,
        restart: opts.restart,
        onProgress: tty ? progress : undefined,
      });
      if (tty) process.stderr.write('\n');
      if (opts.json) return context.out(JSON.stringify(totals));
      context.out(`${totals.dryRun ? 'dry run: would copy' : 'copied'} ${totals.copied}, skipped ${totals.skipped} (scoped copy as new or newer), invalid ${totals.invalid}, scanned ${totals.scanned}${totals.resumedFrom !== '0' ? ` (resumed from checkpoint ${totals.resumedFrom})` : ''}`);
      for (const key of totals.invalidSamples) context.out(`  skipped invalid record: ${key}`);
    });

  migrate
    .command('verify')
    .description('compare both schemas field by field; exit 1 on any divergence')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const report = await (await context.get(VerifyService)).run();
      if (!report.clean) context.fail(1);
      if (opts.json) return context.out(JSON.stringify(report));
      context.out(`${report.clean ? 'clean' : 'NOT clean'}: ${report.legacyRecords} legacy records, ${report.matching} matching, ${report.missingScoped} without a scoped copy, ${report.diverged} diverged, ${report.invalid} invalid, ${report.scopedOnly} only in scoped`);
      for (const id of report.samples.missingScoped) context.out(`  missing scoped copy: ${id}`);
      for (const entry of report.samples.diverged) context.out(`  diverged: ${entry}`);
      for (const key of report.samples.invalid) context.out(`  invalid: ${key}`);
    });

  migrate
    .command('cleanup')
    .description('phase 4 only: archive legacy records to a JSON-lines file, then delete them')
    .option('--archive <file>', 'archive file (must not exist)', `relay-legacy-archive-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`)
    .option('--dry-run', 'count what would be archived; write nothing')
    .option('--json', 'print JSON')
    .action(async (opts: { archive: string; dryRun?: boolean; json?: boolean }) => {
      try {
        const report = await (await context.get(CleanupService)).run(opts.archive, { dryRun: opts.dryRun });
        if (report.kept.length > 0) context.fail(1);
        if (opts.json) return context.out(JSON.stringify(report));
        context.out(`${report.dryRun ? 'dry run: would archive' : 'archived'} ${report.archived} legacy records${report.archive ? ` to ${report.archive}` : ''}, deleted ${report.deleted}, kept ${report.kept.length}`);
      } catch (error) {
        if (!(error instanceof CleanupRefusedError)) throw error;
        context.fail(exitCodeFor(error));
        if (opts.json) return context.out(JSON.stringify({ refused: error.message, verify: error.verify }));
        context.out(`refused: ${error.message}`);
      }
    });

  return migrate;
}
