/**
 * Injection token of the clock that sessions and refresh tokens are timed by:
 * a function returning milliseconds since the epoch (default `Date.now`).
 * Login start, the logout-everywhere watermark, refresh-token expiry and the
 * reuse grace window all read it, so a test can put two events in the same
 * second, or past a window, without sleeping. Access tokens' `iat` and `exp`
 * are not on it: they are the signing moment's (AccessTokenIssuer).
 */
export const AUTH_CLOCK = Symbol('AUTH_CLOCK');

/** Milliseconds since the epoch. */
export type AuthClock = () => number;
