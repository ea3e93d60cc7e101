import { randomUUID } from 'node:crypto';
import { Body, Controller, Get, HttpCode, Inject, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { Redis } from 'ioredis';
import { SubmitJobDto } from '../../apps/api/src/jobs/dto/submit-job.dto.js';
import { BASELINE_REDIS } from './tokens.js';

export const BASELINE_WORKSPACE = 'bench-baseline';
export const BASELINE_ACTOR = 'bench-actor';

/**
 * The comparison for Relay's POST /ai/jobs: the same DTO class under the
 * same ValidationPipe options, then one MULTI per request that writes a job
 * hash with the same fields Relay stores and LPUSHes a queue entry. No
 * authentication, no permissions, no idempotency, no index, no metrics:
 * what is left is the floor a Nest + Express + Redis submit can reach.
 */
@Controller('ai')
export class BaselineJobsController {
  constructor(@Inject(BASELINE_REDIS) private readonly redis: Redis) {}

  @Post('jobs')
  @HttpCode(202)
  async submit(@Body() body: SubmitJobDto, @Res({ passthrough: true }) res: Response) {
    const jobId = randomUUID();
    const now = new Date().toISOString();
    const [provider, name] = body.action.split('.');
    await this.redis
      .multi()
      .hset(`bench:baseline:job:${jobId}`, {
        job_id: jobId,
        workspace_id: BASELINE_WORKSPACE,
        actor_id: BASELINE_ACTOR,
        action_provider: provider,
        action_name: name,
        params: JSON.stringify(body.params ?? {}),
        status: 'pending',
        attempts: '0',
        result: '',
        error: '',
        client_request_id: body.client_request_id ?? '',
        created_at: now,
        updated_at: now,
        started_at: '',
        finished_at: '',
      })
      .lpush('bench:baseline:queue', `${BASELINE_WORKSPACE}:${jobId}`)
      .exec();
    res.setHeader('Location', `/ai/jobs/${jobId}`);
    return { job_id: jobId, status: 'pending', created_at: now };
  }
}

/** GET /health: 200 once the app listens (the benchmark waits for it). */
@Controller('health')
export class BaselineHealthController {
  @Get()
  live() {
    return { status: 'ok' };
  }
}
