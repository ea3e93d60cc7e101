import { Module } from '@nestjs/common';
import { ApiKeyGuard } from './api-key.guard.js';
import { ApiKeyStore } from './api-key.store.js';
import { FailedAuthLimiter } from './failed-auth.limiter.js';

@Module({ providers: [ApiKeyStore, FailedAuthLimiter, ApiKeyGuard], exports: [ApiKeyStore, ApiKeyGuard] })
export class AuthModule {}
