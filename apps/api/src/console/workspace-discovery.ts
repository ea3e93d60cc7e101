import { Inject, Injectable } from '@nestjs/common';
import { Redis, RedisKeys } from '@relay/redis';
import { isValidWorkspaceId } from '@relay/workspace';

/** Workspaces listed at most; beyond it the list is cut (and says so). */
export const MAX_WORKSPACES = 1000;
const SCAN_COUNT = 1000;

export interface DiscoveredWorkspaces {
  ids: string[];
  /** More workspaces exist than MAX_WORKSPACES. */
  truncated: boolean;
}

/**
 * The workspaces that have jobs, found by their status indexes
 * (`ai:index:<ws>:status:<status>`: every job is in the one of its status;
 * and `ai:index:<ws>`, which releases before the merged listing wrote) with
 * a SCAN. There is no registry of
 * workspaces, and adding one would mean another write on every submit; a
 * SCAN walks the whole keyspace instead (every job record too), so the
 * caller caches the answer (ConsoleOverviewService: 30 s) and it is run only
 * while an operator has the console open.
 */
@Injectable()
export class WorkspaceDiscovery {
  constructor(@Inject(Redis) private readonly redis: Redis) {}

  async find(): Promise<DiscoveredWorkspaces> {
    const prefix = RedisKeys.allJobsIndex('');
    const statusPart = RedisKeys.workspaceStatusIndex('', '').slice(prefix.length); // ':status:'
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', SCAN_COUNT);
      cursor = next;
      for (const key of keys) {
        // Workspace ids never hold a colon: what comes before ':status:' is the workspace.
        const rest = key.slice(prefix.length);
        const at = rest.indexOf(statusPart);
        const id = at === -1 ? rest : rest.slice(0, at);
        if (isValidWorkspaceId(id)) found.add(id);
      }
      if (found.size > MAX_WORKSPACES) break;
    } while (cursor !== '0');
    const ids = [...found].sort();
    return { ids: ids.slice(0, MAX_WORKSPACES), truncated: ids.length > MAX_WORKSPACES };
  }
}
