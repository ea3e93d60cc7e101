import fc from 'fast-check';
import { REDACTED, SecretRedactor } from './redact.js';

const redactor = new SecretRedactor();
const redact = (value: unknown) => redactor.redact(value);

describe('SecretRedactor', () => {
  it('redacts secret keys at any depth and inside arrays', () => {
    const input = {
      to: 'a@example.com',
      password: 'p1',
      nested: { deeper: [{ api_key: 'k1', Authorization: 'Bearer x', ok: 1 }], refresh_token: 't' },
      'X-Api-Key': 'k2',
      clientSecret: 's',
    };
    expect(redact(input)).toEqual({
      to: 'a@example.com',
      password: REDACTED,
      nested: { deeper: [{ api_key: REDACTED, Authorization: REDACTED, ok: 1 }], refresh_token: REDACTED },
      'X-Api-Key': REDACTED,
      clientSecret: REDACTED,
    });
  });

  it('does not change its input, and shares the parts that hold no secret', () => {
    const input = { token: 'x', keep: { a: [1, 2] }, list: [{ b: 1 }, { password: 'p' }] };
    const output = redact(input) as typeof input;
    expect(input.token).toBe('x');
    expect(input.list[1]).toEqual({ password: 'p' });
    expect(output.keep).toBe(input.keep);
    expect(output.list[0]).toBe(input.list[0]);
    const ordinary = { model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 };
    expect(redact(ordinary)).toBe(ordinary);
  });

  it('hides the value of a name/value pair that names a secret, in lists of pairs and in {name, value} entries', () => {
    expect(redact({ headers: [['Authorization', 'Token abc'], ['X-Api-Key', 'k'], ['Accept', 'text/plain']] })).toEqual({
      headers: [['Authorization', REDACTED], ['X-Api-Key', REDACTED], ['Accept', 'text/plain']],
    });
    expect(redact([{ name: 'Cookie', value: 'sid=1' }, { Name: 'DB_PASSWORD', Value: 'p' }, { key: 'api_key', value: 'k', enabled: true }, { name: 'Accept', value: '*/*' }])).toEqual([
      { name: 'Cookie', value: REDACTED },
      { Name: 'DB_PASSWORD', Value: REDACTED },
      { key: 'api_key', value: REDACTED, enabled: true },
      { name: 'Accept', value: '*/*' },
    ]);
    // A pair only counts inside a list: a two-word list of tags is left alone.
    expect(redact({ tags: ['password', 'reset'] })).toEqual({ tags: ['password', 'reset'] });
  });

  it('reads a key together with its parent key', () => {
    expect(redact({ card: { number: '4242424242424242', exp_month: 12 }, api: { key: 'k', version: 2 }, webhook: { url: 'https://hooks.example.com/T/B/X', events: ['x'] } })).toEqual({
      card: { number: REDACTED, exp_month: 12 },
      api: { key: REDACTED, version: 2 },
      webhook: { url: REDACTED, events: ['x'] },
    });
    expect(redact({ error: { code: 'E1' }, country: { code: 'DE' } })).toEqual({ error: { code: 'E1' }, country: { code: 'DE' } });
  });

  it('shows a boolean or null under a secret key, which holds no secret, and hides numbers', () => {
    expect(redact({ pin: true, password: null, session: false, otp: 123456, cvc: 737 })).toEqual({ pin: true, password: null, session: false, otp: REDACTED, cvc: REDACTED });
  });

  it('shows the JSON Schema of a tool parameter named like a secret, but not the values the schema holds', () => {
    const tool = {
      name: 'login',
      parameters: {
        type: 'object',
        properties: { username: { type: 'string' }, password: { type: 'string', description: 'The user password', default: 'hunter2', examples: ['pw1'] } },
        required: ['username', 'password'],
      },
    };
    expect(redact({ tools: [tool] })).toEqual({
      tools: [{ ...tool, parameters: { ...tool.parameters, properties: { username: { type: 'string' }, password: { type: 'string', description: 'The user password', default: REDACTED, examples: REDACTED } } } }],
    });
    // `properties` holding values (a CRM contact, not a schema) is redacted as usual.
    expect(redact({ properties: { email: 'a@example.com', password: 'hunter2', api_key: { type: 'live', value: 'k' } } })).toEqual({
      properties: { email: 'a@example.com', password: REDACTED, api_key: { type: 'live', value: REDACTED } },
    });
  });

  it.each([
    ['Bearer sk-live-4eC39HqLyjWDarjtT1zdp7dc'],
    ['bearer abc.def.ghi'],
    [`Basic ${Buffer.from('user:secret').toString('base64')}`],
    ['eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl'],
    ['Authorization: Bearer abc'],
    ['X-Api-Key: 123abc'],
    ['https://api.example.com/callback?state=x&access_token=abc'],
    ['https://app.example.com/#id_token=abc&state=1'],
    ['https://shop.example.com/cart;jsessionid=ABC123'],
    ['https://maps.googleapis.com/maps/api/geocode/json?address=x&key=AIzaSy'],
    ['https://acct.blob.core.windows.net/c/b?sv=2022&sig=abc%3D'],
    ['https://user:pa55@example.com/'],
    ['postgres://app:secret@db.internal:5432/main'],
    ['Server=db;Database=main;User Id=app;Password=secret;'],
    ['DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=abc==;EndpointSuffix=core.windows.net'],
    ['grant_type=password&username=u&password=p'],
    ['client_secret=abc'],
  ])('redacts a value shaped like a credential whatever its key: %s', (value) => {
    expect(redact({ note: value, list: [value] })).toEqual({ note: REDACTED, list: [REDACTED] });
  });

  it.each([
    ['Bearer bonds pay a fixed coupon.'],
    ['Basic plan'],
    ['Token: what is a token?'],
    ['Please set token=abc in the config'],
    ['https://example.com/search?q=password+reset&page=2'],
    ['https://en.wikipedia.org/wiki/Access_token'],
    ['ssh://git@github.com/acme/repo.git'],
    ['a=1;b=2'],
    ['Subject: Your invoice'],
    ['Summarize: the session covered tokens, passwords and API keys.'],
    ['eyJ is how base64 JSON starts'],
  ])('keeps ordinary text: %s', (value) => {
    expect(redact({ note: value })).toEqual({ note: value });
  });

  it('hides whole any value nested deeper than 64 levels, without overflowing the stack', () => {
    let deep: unknown = { password: 'p' };
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(redact({ deep })).toEqual({ deep: expect.anything() });
    let shown = redact({ deep }) as { deep: unknown };
    let levels = 0;
    let node: unknown = shown.deep;
    while (Array.isArray(node)) {
      node = node[0];
      levels++;
    }
    expect(node).toBe(REDACTED);
    expect(levels).toBe(63);
    shown = redact({ a: { b: { c: { password: 'p', n: 1 } } } }) as { deep: unknown };
    expect(shown).toEqual({ a: { b: { c: { password: REDACTED, n: 1 } } } });
  });

  it('keeps a key named __proto__ as a plain field', () => {
    const input = JSON.parse('{"__proto__": {"token": "t", "n": 1}}');
    const output = redact(input) as Record<string, unknown>;
    expect(Object.getPrototypeOf(output)).toBe(Object.prototype);
    expect(Object.keys(output)).toEqual(['__proto__']);
    expect(JSON.stringify(output)).toBe('{"__proto__":{"token":"[REDACTED]","n":1}}');
  });

  it('never alters a value whose keys and text are ordinary', () => {
    const key = fc.constantFrom('model', 'messages', 'role', 'content', 'max_tokens', 'prompt_tokens', 'temperature', 'top_p', 'stop', 'to', 'subject', 'text', 'amount', 'currency', 'channel', 'url', 'page_token', 'tokens', 'name', 'value');
    const text = fc.oneof(fc.lorem({ maxCount: 12 }), fc.webUrl({ withQueryParameters: false, withFragments: false }), fc.emailAddress());
    const leaf = fc.oneof(text, fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.constant(null));
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(key, tie('node'), { maxKeys: 4 })),
    })).node;
    fc.assert(
      fc.property(tree, (value) => {
        const before = JSON.stringify(value);
        expect(JSON.stringify(redact(value))).toBe(before);
        expect(redact(value)).toBe(value);
      }),
      { numRuns: 300 },
    );
  });

  it('never lets a secret value through, whatever the shape', () => {
    const secret = 'S3CR3T-VALUE';
    const tree = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.constant(0),
        fc.string().filter((s) => !s.includes(secret)),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'password', 'token', 'api_key', 'SECRET', 'max_tokens', 'name', 'value'), tie('node'), { maxKeys: 3 }),
      ),
    })).node;
    const secretKey = fc.constantFrom('password', 'token', 'api_key', 'authorization', 'secret', 'pwd', 'x-auth', 'private_key', 'session', 'pin', 'otp', 'dsn');
    fc.assert(
      fc.property(tree, secretKey, (t, key) => {
        const withSecret = { wrap: [t, { [key]: secret }, [key, secret], { name: key, value: secret }], [key]: { inner: secret }, bearer: `Bearer ${secret}` };
        expect(JSON.stringify(redact(withSecret))).not.toContain(secret);
      }),
    );
  });
});
