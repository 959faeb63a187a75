import { z } from 'zod';
import { ConfigError, env, loadConfig, requireProductionDatabase, serviceEnvSchema } from './load-config';

describe('loadConfig', () => {
  const schema = serviceEnvSchema({ port: 3001, name: 'users-service' }).extend({
    TTL: env.seconds(900, 30),
    AUD: env.list(),
  });

  it('applies defaults', () => {
    const config = loadConfig(schema, { AUD: 'a' });
    expect(config).toMatchObject({
      PORT: 3001,
      HOST: '127.0.0.1',
      NODE_ENV: 'development',
      TTL: 900,
      SQLITE_PATH: 'data/users-service/users-service.sqlite',
    });
  });

  it('parses lists and numbers', () => {
    expect(loadConfig(schema, { AUD: ' a, b ,,c ', PORT: '0', TTL: '60' })).toMatchObject({
      AUD: ['a', 'b', 'c'],
      PORT: 0,
      TTL: 60,
    });
  });

  it.each<[string, Record<string, string>, string]>([
    ['a port that is not a number', { PORT: 'abc' }, 'PORT: expected a port number'],
    ['a port out of range', { PORT: '70000' }, 'PORT: expected 0..65535'],
    ['a TTL below its minimum', { TTL: '5' }, 'TTL: expected at least 30 s'],
    ['fractional seconds', { TTL: '60.5' }, 'TTL: expected whole seconds'],
    [
      'a Redis URL with the wrong scheme',
      { REDIS_URL: 'http://x' },
      'REDIS_URL: expected a URL starting with redis:// or rediss://',
    ],
    [
      'a database URL that is not a URL',
      { DATABASE_URL: 'nope' },
      'DATABASE_URL: expected a URL starting with postgres:// or postgresql://',
    ],
    ['an unknown NODE_ENV', { NODE_ENV: 'prod' }, 'NODE_ENV:'],
    ['an empty list', { AUD: ' , ' }, 'AUD: expected at least one comma-separated value'],
  ])('refuses %s, naming the variable', (_name, values, message) => {
    let error: unknown;
    try {
      loadConfig(schema, { AUD: 'a', ...values });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(message);
    expect((error as ConfigError).message.startsWith('Invalid configuration:')).toBe(true);
  });

  it('lists every bad variable at once', () => {
    expect(() => loadConfig(z.object({ A: env.port(1), B: env.port(2) }), { A: 'x', B: 'y' })).toThrow(/A: .*\n.*B: /s);
  });
});

describe('loadConfig: blank and listed values', () => {
  const schema = serviceEnvSchema({ port: 3001, name: 'x' }).extend({ AUD: env.list().default(['a']) });

  it('treats a variable set to the empty string as unset', () => {
    expect(loadConfig(schema, { PORT: '', HOST: '', AUD: '' })).toMatchObject({
      PORT: 3001,
      HOST: '127.0.0.1',
      AUD: ['a'],
    });
  });

  it('refuses a host that is not an address or name', () => {
    expect(() => loadConfig(schema, { HOST: 'local host' })).toThrow('HOST: expected an IP address or host name');
  });

  it('names a list variable, not the position inside it', () => {
    const algorithms = z.object({ ALGS: env.list().pipe(z.array(z.enum(['ES256']))) });
    expect(() => loadConfig(algorithms, { ALGS: 'HS256' })).toThrow(/ALGS: /);
    expect(() => loadConfig(algorithms, { ALGS: 'HS256' })).not.toThrow(/ALGS\.0/);
  });
});

describe('loadConfig: TRUSTED_PROXIES', () => {
  const schema = serviceEnvSchema({ port: 3001, name: 'x' });

  it('trusts no proxy by default, and parses a list of addresses and CIDRs', () => {
    expect(loadConfig(schema, {}).TRUSTED_PROXIES).toBeUndefined();
    expect(loadConfig(schema, { TRUSTED_PROXIES: '127.0.0.1, 10.244.0.0/16,::1, fd00::/8' }).TRUSTED_PROXIES).toEqual([
      '127.0.0.1',
      '10.244.0.0/16',
      '::1',
      'fd00::/8',
    ]);
  });

  it.each(['ingress', '10.0.0.0/33', '10.0.0.1/8/8', '::1/129', '10.0.0.0/x', '*'])('refuses %s', (value) => {
    expect(() => loadConfig(schema, { TRUSTED_PROXIES: value })).toThrow(
      'TRUSTED_PROXIES: expected IP addresses or CIDRs, e.g. 10.0.0.1 or 10.0.0.0/8',
    );
  });

  it('refuses the old TRUST_PROXY_HOPS, saying what replaced it', () => {
    expect(() => loadConfig(schema, { TRUST_PROXY_HOPS: '1' })).toThrow(
      /TRUST_PROXY_HOPS: replaced by TRUSTED_PROXIES: list the proxies' addresses/,
    );
  });
});

describe('requireProductionDatabase', () => {
  const schema = serviceEnvSchema({ port: 3001, name: 'users-service' }).superRefine(requireProductionDatabase);

  it('refuses production without DATABASE_URL (empty counts as unset), saying what to set', () => {
    for (const DATABASE_URL of [undefined, '']) {
      expect(() => loadConfig(schema, { NODE_ENV: 'production', DATABASE_URL })).toThrow(
        /DATABASE_URL: production needs PostgreSQL: set DATABASE_URL/,
      );
    }
  });

  it('accepts production with PostgreSQL, and development with the embedded SQLite', () => {
    const url = 'postgres://users@db:5432/users';
    expect(loadConfig(schema, { NODE_ENV: 'production', DATABASE_URL: url }).DATABASE_URL).toBe(url);
    expect(loadConfig(schema, { NODE_ENV: 'development' }).SQLITE_PATH).toBe('data/users-service/users-service.sqlite');
  });
});
