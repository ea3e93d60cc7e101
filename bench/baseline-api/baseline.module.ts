import { Inject, Module, type OnApplicationShutdown, ValidationPipe } from '@nestjs/common';
import { APP_PIPE } from '@nestjs/core';
import { Redis } from 'ioredis';
import { BaselineHealthController, BaselineJobsController } from './jobs.controller.js';
import { BASELINE_REDIS } from './tokens.js';

@Module({
  controllers: [BaselineJobsController, BaselineHealthController],
  providers: [
    {
      provide: BASELINE_REDIS,
      useFactory: () => new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { connectionName: 'bench-baseline-api' }),
    },
    { provide: APP_PIPE, useValue: new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }) },
  ],
})
export class BaselineModule implements OnApplicationShutdown {
  constructor(@Inject(BASELINE_REDIS) private readonly redis: Redis) {}

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
