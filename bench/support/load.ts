import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  path: string;
  connections: number;
  durationSeconds: number;
  body: string;
  headers?: Record<string, string>;
}

export interface LoadResult {
  /** 2xx responses per second over the run. */
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  ok: number;
  non2xx: number;
  errors: number;
  durationSeconds: number;
}

/** POSTs `body` to url+path with autocannon (HTTP/1.1 keep-alive, no pipelining) for a fixed duration. */
export async function postLoad(options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url + options.path,
    method: 'POST',
    connections: options.connections,
    pipelining: 1,
    duration: options.durationSeconds,
    headers: { 'content-type': 'application/json', ...options.headers },
    body: options.body,
  });
  const ok = result['2xx'];
  return {
    reqPerSec: ok / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    durationSeconds: result.duration,
  };
}
