import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { CurrentPrincipal, OPERATOR_SCOPE, Scopes, type Principal } from '@relay/auth';
import { SecretRedactor } from '@relay/permissions';
import { ListJobsQuery } from '../jobs/dto/list-jobs.query.js';
import { jobView, summaryView } from '../jobs/job.view.js';
import { ConsoleJobsService } from './console-jobs.service.js';
import { ConsoleOverviewService } from './console-overview.service.js';
import { DeadLettersQuery } from './dead-letters.query.js';
import { MigrationStatusCache } from './migration-status.cache.js';

/**
 * The operator console's data (README "Operator console"): operator keys
 * only, every route. Workspaces are named in the path, never in a
 * `workspace_id` query or body field, which the same-workspace guard keeps
 * for tenants. Jobs are shown as GET /ai/jobs shows them: params redacted,
 * list items without params.
 */
// The console serves operators through its own page, not integrators: it is not in the OpenAPI document.
@ApiExcludeController()
@Controller('console/api')
@Scopes(OPERATOR_SCOPE)
export class ConsoleApiController {
  constructor(
    private readonly overview: ConsoleOverviewService,
    private readonly jobs: ConsoleJobsService,
    private readonly migration: MigrationStatusCache,
    private readonly redactor: SecretRedactor,
  ) {}

  @Get('overview')
  queues() {
    return this.overview.get();
  }

  @Get('workspaces/:workspace/jobs')
  async list(@Param('workspace') workspace: string, @Query() query: ListJobsQuery) {
    const page = await this.jobs.list(workspace, query.limit, query.cursor, query.status);
    return { items: page.items.map((item) => summaryView(item, this.redactor)), next_cursor: page.nextCursor };
  }

  @Get('workspaces/:workspace/jobs/:id')
  async get(@Param('workspace') workspace: string, @Param('id') id: string) {
    return jobView(await this.jobs.get(workspace, id), this.redactor);
  }

  @Get('dead')
  async dead(@Query() query: DeadLettersQuery) {
    const { entries, total } = await this.jobs.deadLetters(query.limit);
    return {
      total,
      items: entries.map((e) => ({ workspace_id: e.workspaceId, job_id: e.jobId, job: e.job ? summaryView(e.job, this.redactor) : null })),
    };
  }

  @Post('workspaces/:workspace/dead/:id/requeue')
  @HttpCode(200)
  async requeue(@CurrentPrincipal() principal: Principal, @Param('workspace') workspace: string, @Param('id') id: string) {
    await this.jobs.requeue(principal, workspace, id);
    return { workspace_id: workspace, job_id: id, outcome: 'requeued' };
  }

  @Get('migration')
  async migrationStatus() {
    const { status, computedAt } = await this.migration.get();
    return {
      phase: status.phase,
      writes: status.strategy.writes,
      canary_pct: status.strategy.canaryPct,
      reads: status.strategy.reads,
      legacy_records: status.legacyRecords,
      scoped_records: status.scopedRecords,
      legacy_only: status.legacyOnly,
      scoped_only: status.scopedOnly,
      backfill_checkpoint: status.backfill.checkpoint,
      computed_at: computedAt,
    };
  }
}
