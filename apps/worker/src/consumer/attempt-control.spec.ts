import { AttemptControl } from './attempt-control.js';

describe('AttemptControl', () => {
  it('passes the work result through while not stopped', async () => {
    await expect(new AttemptControl().bound(Promise.resolve(42))).resolves.toBe(42);
  });

  it('rejects a running attempt at once when stopped, even if the work never settles', async () => {
    const control = new AttemptControl();
    const attempt = control.bound(new Promise(() => undefined));
    control.stop(new Error('timed out'));
    await expect(attempt).rejects.toThrow('timed out');
    expect(control.stopped).toBe(true);
  });

  it('aborts the signal an action took, and hands out an aborted signal after a stop', () => {
    const control = new AttemptControl();
    const signal = control.signal;
    control.stop(new Error('lease lost'));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('lease lost');
    const late = new AttemptControl();
    late.stop(new Error('shutting down'));
    expect(late.signal.aborted).toBe(true);
  });

  it('keeps the first stop reason', async () => {
    const control = new AttemptControl();
    control.stop(new Error('first'));
    control.stop(new Error('second'));
    await expect(control.bound(Promise.resolve(1))).rejects.toThrow('first');
  });

  it('tells a stop for a requested cancel from the others, and keeps the first reason', async () => {
    const cancelled = new AttemptControl();
    const attempt = cancelled.bound(new Promise(() => undefined));
    cancelled.cancel();
    cancelled.stop(new Error('timed out'));
    await expect(attempt).rejects.toThrow('cancel requested');
    expect(cancelled.signal.aborted).toBe(true);
    expect(cancelled.cancelled).toBe(true);
    const timedOut = new AttemptControl();
    timedOut.stop(new Error('timed out'));
    timedOut.cancel();
    expect(timedOut.cancelled).toBe(false);
  });
});
