import { Module } from '@nestjs/common';
import { QueueModule } from '../queue.module.js';
import { EventHub } from './event-hub.js';
import { EventLog } from './event-log.js';

/**
 * events/: reading the workspaces' job lifecycle event streams (README
 * "Events"): the entry parser and payload (relay-event.ts), stream ids,
 * EventLog (positions, resumes, batches with trimming detected, a job's
 * final event) and EventHub (one blocking connection per process fanning
 * events out to every subscriber). The API imports it; the scripts that
 * append events live in scripts/.
 */
@Module({ imports: [QueueModule], providers: [EventLog, EventHub], exports: [EventLog, EventHub] })
export class EventReadingModule {}
