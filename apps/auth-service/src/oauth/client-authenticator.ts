import { Inject, Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyRequest } from 'fastify';
import { ProblemException } from '@jwt-ms/service-core';
import { AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../auth-service.config';
import { chargeOf } from '../rate-limit/credentials-rate-limiter';

/** Who is calling an OAuth endpoint. */
export type OAuthClient =
  /** A registered resource server, authenticated with its secret. */
  | { kind: 'confidential'; id: string }
  /** The first-party app (`AUTH_CLIENT_ID`): identified, not authenticated (RFC 6749 §2.1 public client). */
  | { kind: 'public'; id: string };

/**
 * Client authentication for the OAuth endpoints (RFC 6749 §2.3.1): HTTP Basic
 * with the form-urlencoded client id and secret, or `client_id` and
 * `client_secret` in the body. Secrets are compared in constant time.
 */
@Injectable()
export class ClientAuthenticator {
  private readonly clients: Map<string, Buffer>;

  constructor(@Inject(AUTH_SERVICE_CONFIG) private readonly config: AuthServiceConfig) {
    this.clients = new Map((config.OAUTH_CLIENTS ?? []).map(({ id, secret }) => [id, digest(secret)]));
  }

  /**
   * @param request the request: its headers (`Authorization: Basic …`); it must have been charged by
   *   `@CredentialsRateLimit('client_id')`, so that no endpoint compares secrets unthrottled
   * @param body the form parameters
   * @param allowPublic whether the public first-party client may call without a secret
   * @returns the client
   * @throws ProblemException 401 `invalid_client` (RFC 6749 §5.2), with a Basic challenge
   * @throws Error when the route lacks `@CredentialsRateLimit('client_id')` (a wiring bug, caught by any test of the route)
   */
  authenticate(request: FastifyRequest, body: Record<string, unknown>, allowPublic: boolean): OAuthClient {
    if (chargeOf(request)?.pool !== 'client') {
      throw new Error(
        `${request.routeOptions.url ?? 'this route'} authenticates clients: it needs @CredentialsRateLimit('client_id')`,
      );
    }
    const { id, secret } = presentedClientCredentials(request.headers, body);
    if (id !== undefined && secret !== undefined) {
      const expected = this.clients.get(id);
      // Compare against something even for an unknown id, so timing says nothing about which ids exist.
      const matches = timingSafeEqual(expected ?? digest(''), digest(secret)) && expected !== undefined;
      if (matches) return { kind: 'confidential', id };
    } else if (allowPublic && id === this.config.AUTH_CLIENT_ID) {
      return { kind: 'public', id };
    }
    throw new ProblemException({
      status: 401,
      code: 'invalid_client',
      detail: 'Client authentication failed.',
      headers: { 'www-authenticate': 'Basic realm="auth-service"' },
      extensions: { error: 'invalid_client', error_description: 'Client authentication failed.' },
    });
  }
}

/**
 * The client credentials a request presents (RFC 6749 §2.3.1): HTTP Basic
 * (form-urlencoded id and secret) first, else `client_id` and
 * `client_secret` in the body. Nothing is checked here.
 *
 * @param headers request headers
 * @param body the parsed body (anything: it has not been validated yet)
 * @returns the id and the secret, each undefined when absent or not decodable
 */
export function presentedClientCredentials(
  headers: IncomingHttpHeaders,
  body: unknown,
): { id: string | undefined; secret: string | undefined } {
  const basic = /^Basic +([A-Za-z0-9+/=]+)$/i.exec(headers.authorization ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return { id: undefined, secret: undefined };
    return { id: safeDecode(decoded.slice(0, colon)), secret: safeDecode(decoded.slice(colon + 1)) };
  }
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  return {
    id: typeof fields['client_id'] === 'string' ? fields['client_id'] : undefined,
    secret: typeof fields['client_secret'] === 'string' ? fields['client_secret'] : undefined,
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}
