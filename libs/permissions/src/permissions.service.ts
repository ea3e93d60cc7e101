import { Injectable } from '@nestjs/common';
import { RelayConfig } from '@relay/config';
import { RelayMetrics, WorkspaceLabelPolicy } from '@relay/telemetry';
import type { Counter } from 'prom-client';
import { decide, parsePermissionRules, type Decision, type PermissionRules } from './permission-rules.js';

/** can_execute(action, actor, workspace), with every decision counted. */
@Injectable()
export class PermissionsService {
  private readonly rules: PermissionRules;
  private readonly counters = new Map<string, Counter.Internal>();

  constructor(
    config: RelayConfig,
    private readonly metrics: RelayMetrics,
    private readonly labels: WorkspaceLabelPolicy,
  ) {
    // Malformed rules stop the process at start-up, naming the variable.
    this.rules = parsePermissionRules(config.ACTION_ALLOWLIST, config.ACTION_DENYLIST, config.WORKSPACE_ACTION_RULES);
  }

  // The actor is part of the contract so that per-actor rules can be added
  // without changing callers; today's rules depend on action and workspace.
  canExecute(action: string, _actorId: string, workspaceId: string): Decision {
    const decision = decide(this.rules, action, workspaceId);
    const labels = { result: decision.allowed ? 'allow' : 'deny', reason: decision.reason, workspace_id: this.labels.label(workspaceId) };
    // Labelled children are cached: the worker checks every attempt, and prom-client hashes labels per call.
    const key = `${labels.result}|${labels.reason}|${labels.workspace_id}`;
    let counter = this.counters.get(key);
    if (!counter) this.counters.set(key, (counter = this.metrics.securityDecisions.labels(labels)));
    counter.inc();
    return decision;
  }
}
