import { RelayAction, type ActionHandler } from './action.js';

/** Returns its params as the result. */
@RelayAction('debug.echo')
export class DebugEchoAction implements ActionHandler {
  async run(params: Record<string, unknown>) {
    return params;
  }
}
