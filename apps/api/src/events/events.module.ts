import { Module } from '@nestjs/common';
import { PermissionsModule } from '@relay/permissions';
import { EventReadingModule, QueueModule } from '@relay/queue';
import { EventStreams } from './event-streams.service.js';
import { EventsController } from './events.controller.js';
import { StreamLeases } from './stream-leases.js';

/** GET /ai/events and GET /ai/jobs/{id}/events (Server-Sent Events), on the queue library's event readers. */
@Module({
  imports: [QueueModule, EventReadingModule, PermissionsModule],
  controllers: [EventsController],
  providers: [EventStreams, StreamLeases],
})
export class EventsModule {}
