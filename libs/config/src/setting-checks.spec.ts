import { ConfigError, loadConfig } from './load-config.js';
import { parseHostPortList } from './setting-checks.js';

describe('parseHostPortList', () => {
  it('reads host:port entries, IPv6 hosts in brackets, spaces and an empty list', () => {
    expect(parseHostPortList('')).toEqual([]);
    expect(parseHostPortList(' 10.0.0.1:26379, sentinel-b.internal:26380 ,[::1]:5000')).toEqual([
      { host: '10.0.0.1', port: 26379 },
      { host: 'sentinel-b.internal', port: 26380 },
      { host: '::1', port: 5000 },
    ]);
  });

  it.each(['10.0.0.1', '10.0.0.1:', ':26379', 'a:26379;b:26379', 'a:0', 'a:65536', '::1:26379', 'a b:1'])('refuses %j', (text) => {
    expect(parseHostPortList(text)).toBeUndefined();
  });
});

describe('Redis Sentinel and replica acknowledgement settings', () => {
  it('default to a direct connection that does not wait for replicas', () => {
    const config = loadConfig({});
    expect([config.REDIS_SENTINELS, config.REDIS_SENTINEL_MASTER, config.REDIS_MIN_REPLICAS_ACK, config.REDIS_MIN_REPLICAS_ACK_TIMEOUT_MS]).toEqual(['', 'mymaster', 0, 500]);
  });

  it('refuse a malformed sentinel list or master name, naming the variable', () => {
    expect(() => loadConfig({ REDIS_SENTINELS: '10.0.0.1' })).toThrow(/REDIS_SENTINELS="10.0.0.1": REDIS_SENTINELS must be comma-separated host:port entries/);
    expect(() => loadConfig({ REDIS_SENTINEL_MASTER: 'my master' })).toThrow(/REDIS_SENTINEL_MASTER/);
  });

  it('refuse an acknowledgement timeout that is not below the command timeout (WAIT holds the connection), when acknowledgement is on', () => {
    const on = { REDIS_MIN_REPLICAS_ACK: '1' };
    expect(loadConfig({ ...on, REDIS_COMMAND_TIMEOUT_MS: '3000', REDIS_MIN_REPLICAS_ACK_TIMEOUT_MS: '2999' }).REDIS_MIN_REPLICAS_ACK_TIMEOUT_MS).toBe(2999);
    expect(() => loadConfig({ ...on, REDIS_COMMAND_TIMEOUT_MS: '3000', REDIS_MIN_REPLICAS_ACK_TIMEOUT_MS: '3000' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...on, REDIS_MIN_REPLICAS_ACK_TIMEOUT_MS: '1000' })).toThrow(/REDIS_MIN_REPLICAS_ACK_TIMEOUT_MS must be below REDIS_COMMAND_TIMEOUT_MS/);
    // Off (the default), the timeout is not used: a short command timeout needs no matching change.
    expect(loadConfig({ REDIS_COMMAND_TIMEOUT_MS: '200' }).REDIS_COMMAND_TIMEOUT_MS).toBe(200);
    expect(() => loadConfig({ REDIS_MIN_REPLICAS_ACK: '-1' })).toThrow(/REDIS_MIN_REPLICAS_ACK=/);
  });
});
