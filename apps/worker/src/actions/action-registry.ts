import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { ACTION_ID, type ActionHandler } from './action.js';

/** Finds every @RelayAction provider at start-up; fails start-up on a duplicate id. */
@Injectable()
export class ActionRegistry implements OnModuleInit {
  private readonly handlers = new Map<string, ActionHandler>();

  constructor(private readonly discovery: DiscoveryService) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const type = wrapper.metatype as (new (...args: never[]) => unknown) | undefined;
      const id: string | undefined = type ? Reflect.getMetadata(ACTION_ID, type) : undefined;
      if (!id || !wrapper.instance) continue;
      if (this.handlers.has(id)) throw new Error(`two actions registered as ${id}`);
      this.handlers.set(id, wrapper.instance as ActionHandler);
    }
  }

  get(actionId: string): ActionHandler | undefined {
    return this.handlers.get(actionId);
  }

  ids(): string[] {
    return [...this.handlers.keys()].sort();
  }
}
