import { PeriodicTasks } from './periodic-tasks.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PeriodicTasks', () => {
  it('runs a task every interval, never two runs of it at once', async () => {
    const tasks = new PeriodicTasks(() => false);
    let runs = 0;
    let running = 0;
    let overlapped = false;
    tasks.every(5, async () => {
      runs++;
      overlapped ||= ++running > 1;
      await sleep(30);
      running--;
    });
    await sleep(100);
    tasks.clear();
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(runs).toBeLessThanOrEqual(5);
    expect(overlapped).toBe(false);
  });

  it('once stopping, runs only the tasks that run through the shutdown; clear() ends them all', async () => {
    let stopping = false;
    const tasks = new PeriodicTasks(() => stopping);
    const runs = { always: 0, untilShutdown: 0 };
    tasks.every(5, async () => void runs.always++, true);
    tasks.every(5, async () => void runs.untilShutdown++);
    await sleep(30);
    stopping = true;
    await sleep(10);
    const before = { ...runs };
    await sleep(40);
    expect(before.untilShutdown).toBeGreaterThan(0);
    expect(runs.untilShutdown).toBe(before.untilShutdown);
    expect(runs.always).toBeGreaterThan(before.always);
    tasks.clear();
    const cleared = runs.always;
    await sleep(30);
    expect(runs.always).toBe(cleared);
  });
});
