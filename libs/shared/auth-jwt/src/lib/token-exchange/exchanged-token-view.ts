import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { ExchangeRequest } from './token-exchange.client';

/**
 * What a service shows its caller of the token it exchanged on their behalf
 * (RFC 8693 §2.2.1): the decoded JOSE protected header (RFC 7515 §4) and JWT
 * claims set (RFC 7519 §4), beside the `audience` and `scope` it asked the
 * issuer for (§2.1). Never the compact token, never its signature: header,
 * claims and signature together would rebuild the token (the issuer serializes
 * with `JSON.stringify`, so re-serializing the decoded objects gives the same
 * bytes), and the token is a bearer credential for the downstream service that
 * says this client acts for the user.
 */
export interface ExchangedTokenView {
  /** The protected header, e.g. `{alg: "ES256", kid, typ: "at+jwt"}`; null when the token is not a JWS (see below). */
  header: Record<string, unknown> | null;
  /** The claims: `iss`, `sub`, `aud`, `exp`/`iat` (seconds since the epoch), `scope`, `act`…; null as `header`. */
  claims: Record<string, unknown> | null;
  /** The RFC 8693 `audience` asked for, e.g. `users-service`. */
  audience: string;
  /** The RFC 8693 `scope` asked for, space-separated, e.g. `profile:read`. */
  scope: string;
}

/**
 * Decodes an exchanged token for display, without verifying it. Verifying is
 * not needed for what this is: the caller got `token` from the issuer itself,
 * in the token response to its own authenticated request over its own
 * connection (RFC 8693 §2.2.1), not from a client; the downstream service
 * verifies it when it is used. The view only shows what was sent, and nothing
 * is decided from it.
 *
 * @param token the exchanged access token (a compact JWS), as the issuer answered it
 * @param request the `audience` and `scope` the exchange asked for
 * @returns the view; `header` and `claims` are null for a token that is not a
 *   compact JWS with a JSON claims set (an opaque or encrypted token, which
 *   RFC 8693 allows and this system's issuer never issues): the view is a
 *   diagnostic and never fails the request it describes
 */
export function describeExchangedToken(token: string, request: ExchangeRequest): ExchangedTokenView {
  let header: Record<string, unknown> | null = null;
  let claims: Record<string, unknown> | null = null;
  try {
    // decodeJwt refuses a JWE (five segments) and a payload that is not a JSON object.
    claims = { ...decodeJwt(token) };
    header = { ...decodeProtectedHeader(token) };
  } catch {
    header = null;
    claims = null;
  }
  return { header, claims, audience: request.audience, scope: request.scope };
}
