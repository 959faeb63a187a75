import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import * as argon2 from 'argon2';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { CredentialsRateLimiter, chargeOf } from '../rate-limit/credentials-rate-limiter';
import { TokenRateLimiter } from '../rate-limit/token-rate-limit';
import { ClientRegistry, type RegisteredClient } from './clients/client-registry';
import { presentedClientCredentials, type ClientAuthMethod, type PresentedCredentials } from './client-credentials';

export { presentedClientCredentials, type ClientAuthMethod, type PresentedCredentials } from './client-credentials';
import { oauthError } from './oauth-error';

/** A client that proved who it is (or, a public one, said who it is). */
export interface AuthenticatedClient {
  client: RegisteredClient;
  method: ClientAuthMethod;
}

/**
 * Client authentication for the OAuth endpoints (RFC 6749 §2.3.1): HTTP Basic
 * with the form-encoded id and secret (`client_secret_basic`), or `client_id`
 * and `client_secret` in the body (`client_secret_post`); a public client
 * sends its `client_id` alone (`none`, §2.1). Using two methods at once is
 * refused (§2.3).
 *
 * Secrets are held as argon2id hashes only. A correct secret is remembered,
 * for this process, as its SHA-256, so that a service calling the token
 * endpoint often pays argon2 once, not per request; a wrong secret, and any
 * secret for an unknown client id or a public one, is checked against a hash
 * every time (a dummy one for an unknown or public id): every refusal of a
 * presented secret costs one argon2 verification, so the answer takes the same
 * time whether or not the id exists, and whatever kind of client it names.
 */
@Injectable()
export class ClientAuthenticator implements OnApplicationBootstrap {
  /** SHA-256 of each client's secret, once one request proved it. */
  private readonly provenSecrets = new Map<string, Buffer>();
  private dummyHash?: Promise<string>;

  constructor(
    private readonly registry: ClientRegistry,
    private readonly limiter: CredentialsRateLimiter,
    private readonly volume: TokenRateLimiter,
  ) {}

  /** Hashes the dummy secret at start, so the first unknown-id request costs what the others do. */
  onApplicationBootstrap(): void {
    void this.dummy();
  }

  /**
   * @param request the request (`Authorization: Basic …`); the route must carry
   *   `@CredentialsRateLimit('client_id')`, so no endpoint compares secrets unthrottled. A success gives that
   *   charge back: only failed authentications count
   * @param body the form parameters (`client_id`, `client_secret`)
   * @param allowPublic whether a public client may call this endpoint (revocation, refresh: yes; introspection: no)
   * @returns the client and the method it used
   * @throws ProblemException 401 `invalid_client` (RFC 6749 §5.2) with a Basic challenge: no or unknown client,
   *   wrong secret, a confidential client without its secret, a public one where only confidential ones may call
   * @throws ProblemException 400 `invalid_request` when the request uses more than one method (§2.3)
   * @throws ProblemException 429 `rate_limited` when a confidential client is over `AUTH_TOKEN_RATE_LIMIT_PER_CLIENT`
   *   requests in the window ({@link TokenRateLimiter.chargeClient}); 503 when Redis does not answer
   * @throws Error when the route lacks `@CredentialsRateLimit('client_id')` (a wiring bug, caught by any test of the route)
   */
  async authenticate(
    request: FastifyRequest,
    body: Record<string, unknown>,
    allowPublic: boolean,
  ): Promise<AuthenticatedClient> {
    const charge = chargeOf(request);
    if (charge?.pool !== 'client') {
      throw new Error(
        `${request.routeOptions.url ?? 'this route'} authenticates clients: it needs @CredentialsRateLimit('client_id')`,
      );
    }
    const presented = presentedClientCredentials(request.headers, body);
    if (presented.conflict) {
      throw oauthError('invalid_request', 'The request uses more than one client authentication method.');
    }
    const authenticated = await this.check(presented, allowPublic);
    if (!authenticated) throw oauthError('invalid_client', 'Client authentication failed.');
    await this.limiter.refund(charge);
    // Counted only once proven: naming a client costs its owner nothing.
    if (authenticated.method !== 'none') await this.volume.chargeClient(authenticated.client.id);
    return authenticated;
  }

  private async check(presented: PresentedCredentials, allowPublic: boolean): Promise<AuthenticatedClient | null> {
    const { id, secret, method } = presented;
    if (id === undefined) return null;
    const client = this.registry.find(id);
    if (secret === undefined) {
      return allowPublic && client?.type === 'public' ? { client, method: 'none' } : null;
    }
    // RFC 6749 §2.3: a public client has no secret to send, so one that sends one fails; against the dummy
    // hash, as an unknown id does, so that the refusal does not tell which of the two the id is.
    const confidential = client?.type === 'confidential' && client.secretHash !== null ? client : undefined;
    const digest = sha256(secret);
    const proven = confidential ? this.provenSecrets.get(confidential.id) : undefined;
    if (confidential && proven && timingSafeEqual(proven, digest)) return { client: confidential, method };
    const hash = confidential?.secretHash ?? (await this.dummy());
    const matches = await argon2.verify(hash, secret).catch(() => false);
    if (!confidential || !matches) return null;
    this.provenSecrets.set(confidential.id, digest);
    return { client: confidential, method };
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= argon2.hash(randomBytes(32).toString('base64url'), { type: argon2.argon2id });
    return this.dummyHash;
  }
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
