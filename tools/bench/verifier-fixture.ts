/**
 * What a benchmark needs to run resource services without the auth service:
 * the issuer's JWKS served locally, and the issuer's first-start step on the
 * revocation list (without its generation marker no verifier loads the list).
 */
import { createServer, type Server } from 'node:http';
import { establishRevocationList, type TestTokenIssuer } from '@jwt-ms/auth-jwt/testing';
import { createRedisClient } from '@jwt-ms/service-core';

/**
 * Serves an issuer's JWKS (RFC 7517 §5) on 127.0.0.1, the way the auth service would.
 *
 * @returns the JWKS URL (on a port the kernel chose) and the server, to close when done
 */
export async function serveJwks(issuer: TestTokenIssuer): Promise<{ url: string; server: Server }> {
  const server = createServer((_, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(issuer.jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/.well-known/jwks.json`, server };
}

/**
 * Writes an established revocation-list generation marker to this Redis database unless one is there.
 *
 * @param redisUrl the database the verifiers use
 */
export async function establishRevocationListAt(redisUrl: string): Promise<void> {
  const redis = createRedisClient(redisUrl);
  try {
    if (!redis.isReady) await new Promise((resolve) => redis.once('ready', resolve));
    await establishRevocationList(redis);
  } finally {
    redis.destroy();
  }
}
