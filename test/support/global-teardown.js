// Plain JavaScript: jest loads global setup and teardown outside the TypeScript hook.
// Each e2e file stops its own redis-server in afterAll (test/support/redis.ts).
// This is the safety net for a file that did not get that far (an afterAll
// that threw first): jest-light-runner runs the files in the jest process
// itself (when it has one worker, as on two cores) or in its worker threads,
// so every redis-server a file started is a child of this process; any still
// running now is killed, and named so the file can be fixed.
import { execFileSync } from 'node:child_process';
import { basename } from 'node:path';

/** Pids of the redis-server processes whose parent is `parentPid`. */
function redisServerChildren(parentPid) {
  const table = execFileSync('ps', ['-A', '-o', 'pid=,ppid=,comm='], { encoding: 'utf8' });
  return table
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(.+?)\s*$/.exec(line))
    .filter((m) => m && Number(m[2]) === parentPid && basename(m[3]) === 'redis-server')
    .map((m) => Number(m[1]));
}

export default async function globalTeardown() {
  let left;
  try {
    left = redisServerChildren(process.pid);
  } catch (error) {
    process.stderr.write(`\n[test] could not look for redis-servers left running: ${error.message}\n`);
    return;
  }
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  if (left.length > 0) process.stderr.write(`\n[test] stopped ${left.length} redis-server(s) a test file left running (pids ${left.join(', ')})\n`);
}
