import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiHeader, ApiOperation, ApiParam, ApiResponse } from '@nestjs/swagger';
import { JOB_ID_PATTERN } from '@relay/queue';
import { ApiErrorResponses } from '../openapi/error-responses.js';
import { headerRef } from '../openapi/response-headers.js';
import { EventView, ResetView } from './dto/event.view.js';

/** What the OpenAPI document says of the event routes (README "Events" says more). */

const LAST_EVENT_ID = ApiHeader({
  name: 'Last-Event-ID',
  required: false,
  description: 'The `id:` of the last event received (EventSource sends it when it reconnects): the stream resumes after it. Wins over `last_event_id`. A malformed id is 400.',
  schema: { type: 'string', pattern: '^[0-9]{1,20}-[0-9]{1,20}$' },
  example: '1795962699899-0',
});

const FRAMES =
  'id: 1795962699899-0\nevent: created\ndata: {"type":"created","job_id":"0f8e5c1a-3b1d-4c1e-9a55-2a7d0c4b9e11","action":"debug.echo","status":"pending","attempt":0,"at":"2026-11-29T10:15:00.000Z"}\n\n' +
  ': heartbeat\n\n' +
  'id: 1795962699950-0\nevent: succeeded\ndata: {"type":"succeeded","job_id":"0f8e5c1a-3b1d-4c1e-9a55-2a7d0c4b9e11","action":"debug.echo","status":"succeeded","attempt":1,"at":"2026-11-29T10:15:00.051Z","result":{"text":"hello"}}\n\n';

const STREAM_DESCRIPTION =
  "Server-Sent Events: each event is `id:` (its id in the workspace's stream), `event:` (its type) and `data:` (JSON: the EventView schema); " +
  'a comment line (`: heartbeat`) every SSE_HEARTBEAT_MS; `event: reset` (data: the ResetView schema) when events after your position were trimmed away, before the events from the oldest kept.';

const sseAnswer = (description: string) =>
  ApiResponse({
    status: 200,
    description: `${description} ${STREAM_DESCRIPTION}`,
    headers: { 'Relay-Stream-Position': headerRef('Relay-Stream-Position') },
    content: { 'text/event-stream': { schema: { type: 'string' }, example: FRAMES } },
  });

export const StreamEventsDocs = () =>
  applyDecorators(
    ApiExtraModels(EventView, ResetView),
    ApiOperation({
      operationId: 'streamEvents',
      summary: "Follow the workspace's job events (Server-Sent Events)",
      description:
        'Without Last-Event-ID (or `last_event_id`) the stream starts now, or at `since`; with one, it resumes after that event: every later event, in order, none repeated, from any API replica. ' +
        'The stream stays open until the client leaves or the server shuts down (then it ends: reconnect with Last-Event-ID).',
    }),
    LAST_EVENT_ID,
    sseAnswer('The stream.'),
    ApiErrorResponses(400),
  );

export const StreamJobEventsDocs = () =>
  applyDecorators(
    ApiOperation({
      operationId: 'streamJobEvents',
      summary: "Follow one job's events until its final one (Server-Sent Events)",
      description:
        'Streams the job\'s events from now (or after Last-Event-ID) and ends after its final event (`succeeded`, `failed`, `cancelled`, `dead_lettered`). ' +
        'For a job already final: its final event at once, then the end (made up from the job record, with `synthesized: true`, when the stream no longer holds it).',
    }),
    ApiParam({ name: 'id', description: 'The job id.', schema: { type: 'string', pattern: JOB_ID_PATTERN.source }, example: '0f8e5c1a-3b1d-4c1e-9a55-2a7d0c4b9e11' }),
    LAST_EVENT_ID,
    sseAnswer('The stream.'),
    ApiResponse({ status: 204, description: 'The job is final and Last-Event-ID shows its final event was received: nothing more will come (EventSource stops reconnecting on 204).' }),
    ApiErrorResponses(400, 404),
  );
