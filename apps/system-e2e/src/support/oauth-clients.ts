import * as argon2 from 'argon2';

/** A confidential test client: its id and its secret (a clearly named test fixture). */
export interface TestClient {
  id: string;
  secret: string;
  /** Registration members beyond the id and the secret (RFC 7591 names), e.g. `grant_types`, `scope`, `audience`. */
  registration?: Record<string, unknown>;
}

/**
 * `OAUTH_CLIENTS` for a test stack: the public first-party client as the
 * development registry has it, and the given confidential clients, their
 * secrets hashed with argon2id as production's are.
 *
 * @returns the registry's JSON text
 */
export async function clientRegistry(clients: readonly TestClient[]): Promise<string> {
  const confidential = await Promise.all(
    clients.map(async (client) => ({
      client_id: client.id,
      client_secret_hash: await argon2.hash(client.secret, { type: argon2.argon2id }),
      ...client.registration,
    })),
  );
  return JSON.stringify([
    {
      client_id: 'first-party-app',
      grant_types: ['refresh_token'],
      scope: 'profile:read profile:write orders:read orders:write users:admin users:read orders:admin',
      audience: ['auth-service', 'users-service', 'orders-service'],
    },
    ...confidential,
  ]);
}
