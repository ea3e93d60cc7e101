// Stops the private redis-server global-setup.js started, if it started one.
export default async function globalTeardown() {
  globalThis.relayTestRedis?.kill('SIGKILL');
}
