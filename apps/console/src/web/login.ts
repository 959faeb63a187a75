import * as oauth from 'oauth4webapi';
import type { BrowserConfig } from '../shared/browser-config';

/**
 * The console's login: the authorization-code grant with PKCE (RFC 6749 §4.1,
 * RFC 7636), as a public client in the browser (RFC 9700 §2.1.1, §4.1;
 * OAuth 2.0 for Browser-Based Apps). All protocol work is oauth4webapi's:
 * discovery (RFC 8414), the PKCE pair, `state`, the `iss` check of the
 * response (RFC 9207) and the token request.
 *
 * What is kept where: the PKCE verifier and `state` in sessionStorage for the
 * round trip to the issuer only (this tab, removed at the callback); the
 * access token in memory only, never in storage, so a reload logs out of the
 * page (the issuer's own login session answers the next login at once).
 */

/** Where the PKCE verifier and `state` wait during the round trip (sessionStorage). */
const PENDING_KEY = 'console.pending-authorization';

/** What the page shows of each step of the flow; never a token or the verifier. */
export interface LoginStep {
  title: string;
  detail: Record<string, string>;
}

/** A finished login: the access token (memory only) and the steps that led to it. */
export interface LoginResult {
  accessToken: string;
  expiresIn: number | undefined;
  scope: string | undefined;
  steps: LoginStep[];
}

/** The pending round trip, as kept in sessionStorage. */
interface Pending {
  verifier: string;
  state: string;
  steps: LoginStep[];
}

/** oauth4webapi refuses http: unless told: allowed only for a loopback or `.localtest.me` issuer (local runs). */
function insecureAllowed(issuer: URL): Record<symbol, boolean> {
  const local =
    issuer.protocol === 'http:' &&
    (/^(localhost|127\.0\.0\.1|\[::1\])$/.test(issuer.hostname) ||
      /(^|\.)localtest\.me$/.test(issuer.hostname) ||
      issuer.hostname.endsWith('.test'));
  return local ? { [oauth.allowInsecureRequests]: true } : {};
}

/**
 * Fetches the issuer's metadata (RFC 8414 §3) and checks its `issuer` (§3.3).
 *
 * @param config the console's configuration
 * @returns the authorization server's metadata
 * @throws Error from oauth4webapi when the metadata is missing or names another issuer
 */
export async function discover(config: BrowserConfig): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(config.issuer);
  const response = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecureAllowed(issuer) });
  return oauth.processDiscoveryResponse(issuer, response);
}

/** The callback address registered for the console: this origin's `/callback`. */
export function redirectUri(origin: string): string {
  return `${origin}/callback`;
}

/**
 * Step 1: builds the authorization request (RFC 6749 §4.1.1 with RFC 7636 §4.3)
 * and keeps the verifier and `state` for the callback.
 *
 * @param config the console's configuration
 * @param as the issuer's metadata, from {@link discover}
 * @param origin the page's origin (`location.origin`)
 * @param storage where the round trip waits (sessionStorage)
 * @returns the URL to navigate to (the issuer's login page)
 */
export async function beginLogin(
  config: BrowserConfig,
  as: oauth.AuthorizationServer,
  origin: string,
  storage: Storage,
): Promise<URL> {
  if (!as.authorization_endpoint) throw new Error('The issuer publishes no authorization_endpoint.');
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', config.clientId);
  url.searchParams.set('redirect_uri', redirectUri(origin));
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', state);
  const steps: LoginStep[] = [
    {
      title: 'Discovery (RFC 8414)',
      detail: {
        metadata: `${config.issuer}/.well-known/oauth-authorization-server`,
        authorization_endpoint: as.authorization_endpoint,
        token_endpoint: as.token_endpoint ?? '(none)',
      },
    },
    {
      title: 'Redirect to the issuer (RFC 6749 §4.1.1, RFC 7636 §4.3)',
      detail: {
        authorization_endpoint: as.authorization_endpoint,
        client_id: config.clientId,
        redirect_uri: redirectUri(origin),
        code_challenge: `${url.searchParams.get('code_challenge')} (SHA-256 of a verifier that stays in this tab)`,
        code_challenge_method: 'S256',
        state: 'a random value, checked at the callback',
      },
    },
  ];
  const pending: Pending = { verifier, state, steps };
  storage.setItem(PENDING_KEY, JSON.stringify(pending));
  return url;
}

/**
 * Steps 3 and 4, at `/callback`: checks the authorization response (`state`,
 * RFC 9207 `iss`, an error answer) and redeems the code with the verifier
 * (RFC 6749 §4.1.3, RFC 7636 §4.5). The round trip's storage is cleared
 * whatever happens: a code is good once.
 *
 * @param config the console's configuration
 * @param as the issuer's metadata
 * @param callbackUrl the full callback URL (`location.href`)
 * @param storage the sessionStorage that {@link beginLogin} wrote
 * @returns the access token and the steps
 * @throws Error naming the OAuth error (`access_denied`, `invalid_grant`, …) or a missing round trip
 */
export async function completeLogin(
  config: BrowserConfig,
  as: oauth.AuthorizationServer,
  callbackUrl: URL,
  storage: Storage,
): Promise<LoginResult> {
  const raw = storage.getItem(PENDING_KEY);
  storage.removeItem(PENDING_KEY);
  if (!raw) throw new Error('No login was started in this tab: start again.');
  const pending = JSON.parse(raw) as Pending;
  const client: oauth.Client = { client_id: config.clientId };
  let params: URLSearchParams;
  try {
    params = oauth.validateAuthResponse(as, client, callbackUrl, pending.state);
  } catch (error) {
    throw new Error(describe(error));
  }
  const code = params.get('code') ?? '';
  const steps = [
    ...pending.steps,
    {
      title: 'Back at the console with a code (RFC 6749 §4.1.2, RFC 9207)',
      detail: {
        code: `${code.slice(0, 4)}… (${code.length} characters, single use, 60 s at most; not shown)`,
        state: 'matches the one sent',
        iss: `${params.get('iss') ?? '(absent)'}: matches the issuer`,
      },
    },
  ];
  const origin = callbackUrl.origin;
  let result: oauth.TokenEndpointResponse;
  try {
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      oauth.None(),
      params,
      redirectUri(origin),
      pending.verifier,
      insecureAllowed(new URL(config.issuer)),
    );
    result = await oauth.processAuthorizationCodeResponse(as, client, response);
  } catch (error) {
    throw new Error(describe(error));
  }
  steps.push({
    title: 'Code exchanged for an access token (RFC 6749 §4.1.3, RFC 7636 §4.5)',
    detail: {
      token_endpoint: as.token_endpoint ?? '',
      sent: 'grant_type=authorization_code, code, redirect_uri, client_id, code_verifier',
      token_type: result.token_type,
      expires_in: `${result.expires_in ?? '?'} s`,
      scope: result.scope ?? '',
      refresh_token: result.refresh_token ? 'issued (kept in memory)' : 'none: log in again when it expires',
    },
  });
  return { accessToken: result.access_token, expiresIn: result.expires_in, scope: result.scope, steps };
}

/** An OAuth error's code and description, or the error's message; never a token. */
function describe(error: unknown): string {
  if (error instanceof oauth.AuthorizationResponseError || error instanceof oauth.ResponseBodyError)
    return `${error.error}${error.error_description ? `: ${error.error_description}` : ''}`;
  return error instanceof Error ? error.message : String(error);
}
