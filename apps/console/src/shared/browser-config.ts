/**
 * What the page needs to know, served as `/console-config.json`: the issuer
 * (RFC 8414 discovery starts from it), its client id, and where each API is.
 * An empty URL means the page's own origin: behind an ingress that routes
 * `/auth`, `/users`, `/orders` and `/` on one host, every call is same-origin.
 */
export interface BrowserConfig {
  /** The issuer identifier, exactly as in the tokens' `iss` (RFC 8414 §3.3 checks it). */
  issuer: string;
  /** The console's client id at the issuer: a public client (RFC 6749 §2.1), no secret. */
  clientId: string;
  /** Base URL of auth-service's own API (`/auth/logout`, `/auth/admin/keys/rotate`); empty: same origin. */
  authUrl: string;
  /** Base URL of users-service; empty: same origin. */
  usersUrl: string;
  /** Base URL of orders-service; empty: same origin. */
  ordersUrl: string;
}
