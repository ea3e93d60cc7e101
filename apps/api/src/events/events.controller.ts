import { Controller, Get, Headers, Param, Query, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentPrincipal, type Principal } from '@relay/auth';
import { invalidInput } from '@relay/errors';
import { parseStreamId } from '@relay/queue';
import { ApiKeyRoute } from '../openapi/api-key-route.decorator.js';
import { runAtEpochMs } from '../jobs/dto/delay-fields.js';
import { assertJobId } from '../jobs/jobs.service.js';
import { EventsQuery, JobEventsQuery, LAST_EVENT_ID_MESSAGE, listValues } from './dto/events.query.js';
import { actionFilter, type EventFilter } from './event-filter.js';
import { EventStreams, type StreamStart } from './event-streams.service.js';
import { StreamEventsDocs, StreamJobEventsDocs } from './events.openapi.js';

/** The Server-Sent Events routes; EventStreams does the work. */
@Controller('ai')
@ApiTags('events')
export class EventsController {
  constructor(private readonly streams: EventStreams) {}

  @Get('events')
  @StreamEventsDocs()
  @ApiKeyRoute('actions:preview')
  async events(
    @CurrentPrincipal() principal: Principal,
    @Query() query: EventsQuery,
    @Headers('last-event-id') header: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    const lastEventId = pickLastEventId(header, query.last_event_id);
    const start: StreamStart = lastEventId !== undefined ? { lastEventId } : query.since !== undefined ? { sinceMs: runAtEpochMs(query.since)! } : { now: true };
    const statuses = listValues(query.status);
    const actions = listValues(query.action);
    const filter: EventFilter = {
      ...(query.job_id !== undefined ? { jobId: query.job_id } : {}),
      ...(statuses ? { statuses: new Set(statuses) } : {}),
      ...(actions ? actionFilter(actions) : {}),
    };
    await this.streams.workspace(principal, filter, start, res);
  }

  @Get('jobs/:id/events')
  @StreamJobEventsDocs()
  @ApiKeyRoute('actions:preview')
  async jobEvents(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query() query: JobEventsQuery,
    @Headers('last-event-id') header: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    assertJobId(id);
    await this.streams.job(principal, id, pickLastEventId(header, query.last_event_id), res);
  }
}

/** The Last-Event-ID header (what EventSource sends on reconnecting) wins over the query parameter; an empty header counts as none. */
function pickLastEventId(header: string | undefined, fromQuery: string | undefined): string | undefined {
  if (header !== undefined && header.trim() !== '') {
    const id = parseStreamId(header.trim());
    if (id === undefined) throw invalidInput(`Last-Event-ID ${LAST_EVENT_ID_MESSAGE}`);
    return id;
  }
  return fromQuery === undefined ? undefined : parseStreamId(fromQuery);
}
