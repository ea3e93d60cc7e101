import { createRedisClient } from './create-redis-client.js';

describe('createRedisClient', () => {
  it.each([
    ['a /', 'redis://user:pa/ss-9q@127.0.0.1:6379', 'pa/ss-9q'],
    ['an @ and a bad port', 'redis://user:pa@ss-9q@127.0.0.1:99999', 'pa@ss-9q'],
  ])('a URL the parser cannot read (password holding %s) fails with its credentials masked and no copy of the URL on the error', (_shape, url, password) => {
    let thrown: unknown;
    try {
      createRedisClient({ url, commandTimeoutMs: 100, connectionName: 'relay-test' }).disconnect();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    const error = thrown as Error;
    expect(error.message).toMatch(/^Redis URL redis:\/\/\*\*\*@127\.0\.0\.1:\d+ cannot be used/);
    // Everything a logger could print: message, stack and every own property (ioredis' TypeError had `input`).
    const printable = JSON.stringify({ ...error, message: error.message, stack: error.stack });
    expect(printable).not.toContain(password);
    expect(printable).not.toContain(password.slice(0, 4));
  });
});
