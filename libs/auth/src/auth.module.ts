import { Module } from '@nestjs/common';
import { ApiKeyGuard } from './api-key.guard.js';
import { ApiKeyStore } from './api-key.store.js';

@Module({ providers: [ApiKeyStore, ApiKeyGuard], exports: [ApiKeyStore, ApiKeyGuard] })
export class AuthModule {}
