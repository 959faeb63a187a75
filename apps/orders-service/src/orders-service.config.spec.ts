import { loadOrdersServiceConfig } from './orders-service.config';

/** The least a production orders-service starts with (docs/configuration.md, "What production refuses"). */
const PRODUCTION = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://orders:pw@db.internal:5432/orders',
  OAUTH_CLIENT_SECRET: 'a-secret-of-this-deployment',
  AUTH_JWKS_URI: 'https://auth.internal/.well-known/jwks.json',
  AUTH_ISSUER: 'https://auth.example.com',
};

describe('orders-service configuration: EXPLAIN_EXCHANGE', () => {
  it.each([
    ['off in production', PRODUCTION, 'off'],
    ['on outside production', { NODE_ENV: 'development' }, 'on'],
    ['on in tests', { NODE_ENV: 'test' }, 'on'],
    ['on in production when set', { ...PRODUCTION, EXPLAIN_EXCHANGE: 'on' }, 'on'],
    ['off in development when set', { NODE_ENV: 'development', EXPLAIN_EXCHANGE: 'off' }, 'off'],
  ])('is %s', (_case, env, expected) => {
    expect(loadOrdersServiceConfig(env).EXPLAIN_EXCHANGE).toBe(expected);
  });

  it('refuses anything but on or off, naming the variable', () => {
    expect(() => loadOrdersServiceConfig({ NODE_ENV: 'test', EXPLAIN_EXCHANGE: 'yes' })).toThrow(
      /EXPLAIN_EXCHANGE: expected on or off/,
    );
  });
});
