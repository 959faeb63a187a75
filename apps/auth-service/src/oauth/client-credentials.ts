import type { IncomingHttpHeaders } from 'node:http';
/**
 * How the client authenticated (RFC 7591 §2 `token_endpoint_auth_method`
 * values; RFC 6749 §2.3.1).
 */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

/** What {@link presentedClientCredentials} finds. */
export interface PresentedCredentials {
  id: string | undefined;
  secret: string | undefined;
  /** `client_secret_basic` when the header carried them, else `client_secret_post` (or `none` without a secret). */
  method: ClientAuthMethod;
  /** True when both the header and the body carry a secret (RFC 6749 §2.3: one method per request). */
  conflict: boolean;
}

/**
 * The client credentials a request presents (RFC 6749 §2.3.1): HTTP Basic
 * (form-urlencoded id and secret) first, else `client_id` and
 * `client_secret` in the body. Nothing is checked here.
 *
 * @param headers request headers
 * @param body the parsed body (anything: it has not been validated yet)
 * @returns the id and the secret (each undefined when absent or not decodable) and the method
 */
export function presentedClientCredentials(headers: IncomingHttpHeaders, body: unknown): PresentedCredentials {
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const bodyId = typeof fields['client_id'] === 'string' ? fields['client_id'] : undefined;
  const bodySecret = typeof fields['client_secret'] === 'string' ? fields['client_secret'] : undefined;
  const basic = /^Basic +([A-Za-z0-9+/=]+)$/i.exec(headers.authorization ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const conflict = bodySecret !== undefined;
    if (colon <= 0) return { id: undefined, secret: undefined, method: 'client_secret_basic', conflict };
    const id = safeDecode(decoded.slice(0, colon));
    // A body client_id that names another client than the header is a second, contradicting, identification.
    return {
      id,
      secret: safeDecode(decoded.slice(colon + 1)),
      method: 'client_secret_basic',
      conflict: conflict || (bodyId !== undefined && bodyId !== id),
    };
  }
  return {
    id: bodyId,
    secret: bodySecret,
    method: bodySecret === undefined ? 'none' : 'client_secret_post',
    conflict: false,
  };
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}
