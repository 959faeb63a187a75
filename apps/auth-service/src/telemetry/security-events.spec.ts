import { Logger } from '@nestjs/common';
import { PinoNestLogger, createServiceLogger } from '@jwt-ms/service-core';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { RateLimiterRes, type RateLimiterRedis } from 'rate-limiter-flexible';
import { loadAuthServiceConfig } from '../auth-service.config';
import { KeyStore } from '../keys/key-store';
import { generateSigningJwk } from '../keys/signing-jwk';
import { SigningKeys, loadPrivateSigningKeySet } from '../keys/signing-key-set';
import type { AuthenticatedClient } from '../oauth/client-authenticator';
import { GRANT_TYPES, type RegisteredClient } from '../oauth/clients/client-registry';
import { TokenEndpointService } from '../oauth/token-endpoint.service';
import { consumeOrRefuse } from '../rate-limit/credentials-rate-limiter';

/** Every line Nest's loggers write while `work` runs, as the services write them: pino JSON. */
async function linesOf(work: () => unknown): Promise<{ lines: Record<string, unknown>[]; text: string }> {
  const raw: string[] = [];
  const destination = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      raw.push(chunk.toString('utf8'));
      done();
    },
  });
  Logger.overrideLogger(new PinoNestLogger(createServiceLogger({ instance: 'test-1', destination })));
  try {
    await work();
  } catch {
    // The refusals under test throw; their lines are what is checked.
  } finally {
    Logger.overrideLogger(false);
  }
  const text = raw.join('');
  return {
    lines: text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line)),
    text,
  };
}

describe('security events, each its own structured line', () => {
  it('signing_key_rotated names the new kid, never a private key', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'auth-events-')), 'signing-jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [generateSigningJwk('ES256')] }), { mode: 0o600 });
    const config = loadAuthServiceConfig({ SIGNING_JWKS_FILE: file });
    const store = new KeyStore(new SigningKeys(loadPrivateSigningKeySet(config), 'ES256'), config);
    let kid = '';
    const { lines, text } = await linesOf(() => (kid = store.rotate().kid));
    expect(lines).toEqual([
      expect.objectContaining({ level: 30, event: 'signing_key_rotated', kid, context: 'KeyStore', retiring: 1 }),
    ]);
    for (const key of JSON.parse(readFileSync(file, 'utf8')).keys as { d: string }[]) expect(text).not.toContain(key.d);
  });

  it('rate_limit_refused names the limiter, never the counted key', async () => {
    const limiter = {
      keyPrefix: 'rate:ip',
      consume: () => Promise.reject(new RateLimiterRes(0, 1500, 31, false)),
    } as unknown as RateLimiterRedis;
    const { lines, text } = await linesOf(() =>
      consumeOrRefuse(limiter, '203.0.113.9', false, new Logger('RateLimit')),
    );
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        event: 'rate_limit_refused',
        limiter: 'rate:ip',
        retry_after_ms: 1500,
        context: 'RateLimit',
      }),
    ]);
    expect(text).not.toContain('203.0.113.9');
  });

  it('token_exchange_refused gives the client and the RFC error code, never the subject token', async () => {
    const client: RegisteredClient = {
      id: 'orders-service',
      type: 'confidential',
      secretHash: null,
      grantTypes: [GRANT_TYPES.tokenExchange],
      scopes: ['users:read'],
      audiences: ['users-service'],
      subjectTokenAudiences: ['orders-service'],
      redirectUris: [],
    } as RegisteredClient;
    const caller = { client, method: 'client_secret_basic' } as AuthenticatedClient;
    const service = new TokenEndpointService(
      null as never,
      null as never,
      null as never,
      null as never,
      loadAuthServiceConfig({ NODE_ENV: 'test' }),
    );
    const subjectToken = 'eyJhbGciOiJFUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJl';
    const { lines, text } = await linesOf(() =>
      service.grant(GRANT_TYPES.tokenExchange, caller, {
        grant_type: GRANT_TYPES.tokenExchange,
        subject_token: subjectToken,
        subject_token_type: 'urn:ietf:params:oauth:token-type:id_token',
      }),
    );
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        event: 'token_exchange_refused',
        client_id: 'orders-service',
        error: 'invalid_request',
      }),
    ]);
    expect(text).not.toContain(subjectToken);
    expect(text).not.toContain('c2VjcmV0LXBheWxvYWQ');
  });

  it('token_exchange_refused also for a client not allowed the grant (unauthorized_client)', async () => {
    const client = { id: 'reporting-job', grantTypes: [GRANT_TYPES.clientCredentials] } as unknown as RegisteredClient;
    const service = new TokenEndpointService(null as never, null as never, null as never, null as never, null as never);
    const { lines } = await linesOf(() =>
      service.grant(GRANT_TYPES.tokenExchange, { client } as AuthenticatedClient, { grant_type: 'x' }),
    );
    expect(lines).toEqual([
      expect.objectContaining({
        event: 'token_exchange_refused',
        client_id: 'reporting-job',
        error: 'unauthorized_client',
      }),
    ]);
  });
});
