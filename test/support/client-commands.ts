import type { Redis } from 'ioredis';
import { expectEventually } from './expect-eventually.js';

/**
 * The commands clients sent to Redis while `act` ran, lower-cased, in order:
 * what MONITOR shows, without the commands scripts ran (those are not round
 * trips). `redis` is a plain connection to the same server, used for
 * MONITOR and for an end marker, since MONITOR reports asynchronously.
 */
export async function clientCommands(redis: Redis, act: () => Promise<void>): Promise<string[]> {
  const monitor = await redis.monitor();
  const seen: string[] = [];
  const marker = `end-of-act-${process.hrtime.bigint()}`;
  let markerSeen = false;
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (args[0]?.toLowerCase() === 'echo' && args[1] === marker) markerSeen = true;
    else if (source !== 'lua' && !markerSeen) seen.push(String(args[0]).toLowerCase());
  });
  try {
    await act();
    // Everything sent before the marker is reported before it.
    await redis.echo(marker);
    await expectEventually(() => expect(markerSeen).toBe(true));
    return seen;
  } finally {
    monitor.disconnect();
  }
}
