/** The value of a field of a stream entry ([name, value, ...]), looked up among the names only. */
export function eventField(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** Fields of a stream entry that are whole numbers as text; a delivery's JSON carries them as numbers. */
const NUMBER_FIELDS = new Set(['attempt', 'progress']);
/** Fields of a stream entry that are JSON text; a delivery's JSON carries them as JSON. */
const JSON_FIELDS = new Set(['result']);

/**
 * A webhook delivery's body: the stream entry as JSON, its stream id as `id`
 * first, then its fields in stream order (type, job_id, action, status,
 * attempt, at, then the optional ones). `attempt` and `progress` are
 * numbers and `result` is JSON (as stored: already redacted); a value that
 * does not read as such stays text. The same entry always gives the same
 * bytes, so every attempt of a delivery sends the same body.
 */
export function eventBody(eventId: string, fields: readonly string[]): string {
  const event: Record<string, unknown> = { id: eventId };
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const [name, text] = [fields[i], fields[i + 1]];
    if (name === 'id') continue;
    event[name] = NUMBER_FIELDS.has(name) && /^-?\d+$/.test(text) ? Number(text) : JSON_FIELDS.has(name) ? parseJson(text) : text;
  }
  return JSON.stringify(event);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
