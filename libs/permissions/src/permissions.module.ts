import { Module } from '@nestjs/common';
import { RelayConfig } from '@relay/config';
import { PermissionsService } from './permissions.service.js';
import { SecretRedactor } from './redact.js';

@Module({
  providers: [
    PermissionsService,
    // REDACT_KEYS adds words to the built-in list; a malformed value stops start-up naming the variable.
    { provide: SecretRedactor, inject: [RelayConfig], useFactory: (config: RelayConfig) => SecretRedactor.fromSetting(config.REDACT_KEYS) },
  ],
  exports: [PermissionsService, SecretRedactor],
})
export class PermissionsModule {}
