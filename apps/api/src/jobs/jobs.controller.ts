import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentPrincipal, type Principal } from '@relay/auth';
import { invalidInput } from '@relay/errors';
import { SecretRedactor } from '@relay/permissions';
import { CurrentRequestFacts, type RequestFacts } from '@relay/workspace';
import { CLIENT_REQUEST_ID_MESSAGE, CLIENT_REQUEST_ID_PATTERN, SubmitJobDto } from './dto/submit-job.dto.js';
import type { PlanBody } from './dto/submit-plan.dto.js';
import { PlanBodyPipe } from './plan-body.pipe.js';
import { ListJobsQuery } from './dto/list-jobs.query.js';
import { JobsService, type Submitted } from './jobs.service.js';
import { cancelledView, jobView, summaryView } from './job.view.js';
import { ApiKeyRoute } from '../openapi/api-key-route.decorator.js';
import type { CancelledJobView, JobPageView, JobView, SubmittedJobView, SubmittedPlanView } from './dto/job-responses.dto.js';
import { CancelJobDocs, GetJobDocs, ListJobsDocs, SubmitJobDocs, SubmitPlanDocs } from './jobs.openapi.js';

@Controller('ai')
@ApiTags('jobs')
export class JobsController {
  constructor(
    private readonly jobs: JobsService,
    private readonly redactor: SecretRedactor,
  ) {}

  @Post('jobs')
  @ApiKeyRoute('actions:execute')
  @SubmitJobDocs()
  @HttpCode(202)
  async submit(
    @CurrentPrincipal() principal: Principal,
    @CurrentRequestFacts() request: RequestFacts,
    @Body() body: SubmitJobDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<SubmittedJobView> {
    const clientRequestId = pickClientRequestId(body.client_request_id, idempotencyKey);
    const outcome = await this.jobs.submit(principal, request, [body], 'job', clientRequestId);
    const [jobId] = outcome.jobIds;
    res.setHeader('Location', `/ai/jobs/${jobId}`);
    markReplay(outcome, res);
    return { job_id: jobId, status: outcome.status, created_at: outcome.createdAt };
  }

  @Post('plans')
  @ApiKeyRoute('actions:execute')
  @SubmitPlanDocs()
  @HttpCode(202)
  async submitPlan(
    @CurrentPrincipal() principal: Principal,
    @CurrentRequestFacts() request: RequestFacts,
    // PlanBody is an interface: the global ValidationPipe passes it on, PlanBodyPipe validates it.
    @Body(PlanBodyPipe) body: PlanBody,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<SubmittedPlanView> {
    const clientRequestId = pickClientRequestId(body.client_request_id, idempotencyKey);
    const outcome = await this.jobs.submit(principal, request, body.steps, 'plan', clientRequestId);
    markReplay(outcome, res);
    return { job_ids: outcome.jobIds, created_at: outcome.createdAt };
  }

  @Get('jobs')
  @ApiKeyRoute('actions:preview')
  @ListJobsDocs()
  async list(@CurrentPrincipal() principal: Principal, @Query() query: ListJobsQuery): Promise<JobPageView> {
    const page = await this.jobs.list(principal, query.limit, query.cursor, query.status);
    return { items: page.items.map((item) => summaryView(item, this.redactor)), next_cursor: page.nextCursor };
  }

  @Get('jobs/:id')
  @ApiKeyRoute('actions:preview')
  @GetJobDocs()
  async get(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<JobView> {
    return jobView(await this.jobs.get(principal, id), this.redactor);
  }

  @Post('jobs/:id/cancel')
  @ApiKeyRoute('actions:execute')
  @CancelJobDocs()
  @HttpCode(200)
  async cancel(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Res({ passthrough: true }) res: Response): Promise<CancelledJobView> {
    const result = await this.jobs.cancel(principal, id);
    // Still running after the wait: accepted, not done.
    if (result.cancel === 'requested') res.status(202);
    return cancelledView(result, this.redactor);
  }
}

/** The Idempotency-Key header is an alias of client_request_id; giving both with different values is an error. */
function pickClientRequestId(fromBody: string | undefined, fromHeader: string | undefined): string | undefined {
  if (fromHeader !== undefined && !CLIENT_REQUEST_ID_PATTERN.test(fromHeader)) {
    throw invalidInput(CLIENT_REQUEST_ID_MESSAGE.replace('client_request_id', 'Idempotency-Key'));
  }
  if (fromBody !== undefined && fromHeader !== undefined && fromBody !== fromHeader) {
    throw invalidInput('Idempotency-Key and client_request_id differ; send one of them');
  }
  return fromBody ?? fromHeader;
}

/** A replay answers 200 with Idempotent-Replayed: true instead of 202. */
function markReplay(outcome: Submitted, res: Response): void {
  if (outcome.outcome === 'replayed') {
    res.status(200);
    res.setHeader('Idempotent-Replayed', 'true');
  }
}
