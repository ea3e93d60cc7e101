import { DynamicModule, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE, Reflector } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { ApiKeyGuard, AuthModule, PUBLIC_ROUTE, type AuthenticatedRequest } from '@relay/auth';
import { RelayConfig, RelayConfigModule } from '@relay/config';
import { Redis, RedisModule } from '@relay/redis';
import { HealthModule, HttpMetricsMiddleware, TelemetryModule } from '@relay/telemetry';
import { SameWorkspaceGuard, WorkspaceModule } from '@relay/workspace';
import { ApiExceptionFilter } from './http/api-exception.filter.js';
import { GracefulHttpShutdown } from './http/graceful-http-shutdown.js';
import { JsonBodyGuard } from './http/json-body.guard.js';
import { RedisThrottlerStorage } from './http/redis-throttler.storage.js';
import { StrictValidationPipe } from './http/strict-validation.pipe.js';
import { ConsoleModule } from './console/console.module.js';
import { EventsModule } from './events/events.module.js';
import { JobsModule } from './jobs/jobs.module.js';

/**
 * The HTTP API. Guards run in the order listed: API key (deny by default,
 * failed authentications limited per address), rate limit per key, then the
 * JSON body is read, then the same-workspace check (which looks at the
 * body). So a body is never buffered for a caller without a valid key or
 * over its limit. `env` replaces the process environment (tests); the apps
 * pass nothing.
 */
@Module({})
export class ApiModule implements NestModule {
  static forRoot(env?: Record<string, string>): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        RelayConfigModule.forRoot(env),
        RedisModule,
        TelemetryModule,
        HealthModule,
        AuthModule,
        WorkspaceModule,
        ThrottlerModule.forRootAsync({
          inject: [RelayConfig, Redis, Reflector],
          useFactory: (config: RelayConfig, redis: Redis, reflector: Reflector) => ({
            throttlers: [{ ttl: config.RATE_LIMIT_WINDOW_MS, limit: Math.max(config.RATE_LIMIT_MAX, 1) }],
            storage: new RedisThrottlerStorage(redis),
            // Public routes (health, metrics) are never limited: liveness must not
            // depend on Redis, and metrics matter most during an outage.
            skipIf: (context) =>
              config.RATE_LIMIT_MAX === 0 || reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [context.getHandler(), context.getClass()]) === true,
            // Limit per API key; unauthenticated requests are refused before this guard runs.
            getTracker: (req: AuthenticatedRequest & { ip?: string }) => req.principal?.keyId ?? `ip:${req.ip}`,
            // One budget per key across all routes (the default keys by route too).
            generateKey: (_context, tracker) => tracker,
            errorMessage: 'rate limit exceeded; retry after the Retry-After delay',
          }),
        }),
        JobsModule,
        EventsModule,
        ConsoleModule,
      ],
      providers: [
        GracefulHttpShutdown,
        { provide: APP_GUARD, useExisting: ApiKeyGuard },
        { provide: APP_GUARD, useClass: ThrottlerGuard },
        { provide: APP_GUARD, useClass: JsonBodyGuard },
        { provide: APP_GUARD, useExisting: SameWorkspaceGuard },
        { provide: APP_FILTER, useClass: ApiExceptionFilter },
        {
          provide: APP_PIPE,
          useValue: new StrictValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true, stopAtFirstError: false }),
        },
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware).forRoutes('*path');
  }
}
