import { Module } from '@nestjs/common';
import { WebhookScripts } from './webhook-scripts.js';
import { WebhookStore } from './webhook-store.js';

/**
 * Webhooks' storage: endpoints (WebhookStore, for the operator commands)
 * and the delivery scripts (WebhookScripts: fan-out of the workspace event
 * streams into deliveries, claim, finish), which the worker's delivery loop
 * runs. Deliveries are kept in Redis: README "Webhooks" lists the keys.
 */
@Module({
  providers: [WebhookScripts, WebhookStore],
  exports: [WebhookScripts, WebhookStore],
})
export class WebhooksModule {}
