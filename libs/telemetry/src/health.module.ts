import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller.js';
import { RedisHealthIndicator } from './redis.health.js';

/** Liveness and readiness over HTTP, for the API and the worker alike. */
@Module({ imports: [TerminusModule.forRoot({ logger: false })], controllers: [HealthController], providers: [RedisHealthIndicator] })
export class HealthModule {}
