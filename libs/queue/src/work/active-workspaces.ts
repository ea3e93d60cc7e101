import { Logger } from '@nestjs/common';
import { Redis, RedisKeys } from '@relay/redis';

/** How many workspaces the depth report labels when every workspace may be labelled (README "Metrics"). */
export const LABELLED_DEPTH_WORKSPACES_MAX = 100;
/** A process tells Redis about a workspace at most this often. */
const NOTE_EVERY_MS = 60_000;

/**
 * The workspaces that created jobs lately, for the worker's per-workspace
 * queue depth when METRICS_WORKSPACE_LABEL=on without an allowlist: a
 * sorted set of workspace ids scored by when a process last saw one create
 * jobs (that process's clock: it only ranks them). A submit adds nothing
 * but a map lookup; once a minute per workspace and process it adds one
 * ZADD, not waited for. The depth report reads the most recent ones and
 * trims the rest, so the set stays small.
 */
export class ActiveWorkspaces {
  private readonly logger = new Logger(ActiveWorkspaces.name);
  private readonly notedAt = new Map<string, number>();

  constructor(private readonly redis: Redis) {}

  note(workspaceId: string): void {
    const now = Date.now();
    if (now - (this.notedAt.get(workspaceId) ?? -Infinity) < NOTE_EVERY_MS) return;
    this.notedAt.set(workspaceId, now);
    this.redis.zadd(RedisKeys.activeWorkspaces, now, workspaceId).catch((error: unknown) => {
      // Metrics only: the submit succeeded. Try again on the next submit.
      this.notedAt.delete(workspaceId);
      this.logger.debug(`could not note workspace activity: ${(error as Error).name}`);
    });
  }

  /** The `limit` most recently active workspaces; the older ones are dropped from the set. */
  async mostRecent(limit = LABELLED_DEPTH_WORKSPACES_MAX): Promise<string[]> {
    const replies = await this.redis
      .multi()
      .zremrangebyrank(RedisKeys.activeWorkspaces, 0, -(limit + 1))
      .zrevrange(RedisKeys.activeWorkspaces, 0, -1)
      .exec();
    const [error, workspaces] = replies?.[1] ?? [new Error('no reply'), []];
    if (error) throw error;
    return workspaces as string[];
  }
}
