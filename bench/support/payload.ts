/**
 * The job payload every scenario uses (Relay params and BullMQ job data
 * alike): a JSON object of exactly 200 bytes when serialised.
 */
function make200(): Record<string, unknown> {
  const base = { prompt: '', model: 'bench-model-1', temperature: 0.2, max_tokens: 256, tags: ['bench', 'relay'] };
  const padding = 200 - JSON.stringify(base).length;
  const prompt = 'Summarise the quarterly report for the operations team and list the three main risks. '.repeat(4).slice(0, padding);
  return { ...base, prompt };
}

export const PARAMS_200: Record<string, unknown> = make200();
export const PARAMS_200_BYTES = Buffer.byteLength(JSON.stringify(PARAMS_200));
if (PARAMS_200_BYTES !== 200) throw new Error(`bench payload is ${PARAMS_200_BYTES} bytes, expected 200`);

/** The no-op action of the worker scenarios. */
export const NOOP_ACTION = 'debug.echo';
