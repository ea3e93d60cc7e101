import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ActionRegistry } from './action-registry.js';
import { DebugEchoAction } from './debug-echo.action.js';
import { DebugFailAction } from './debug-fail.action.js';
import { DebugSleepAction } from './debug-sleep.action.js';
import { HttpPostAction } from './http-post.action.js';

/** The actions the worker can run. To add one: a class with @RelayAction('provider.name'), listed here. */
@Module({
  imports: [DiscoveryModule],
  providers: [ActionRegistry, DebugEchoAction, DebugSleepAction, DebugFailAction, HttpPostAction],
  exports: [ActionRegistry],
})
export class ActionsModule {}
