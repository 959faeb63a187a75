import { Body, Controller, Get, Inject, Logger, Post, Query, Req, Res } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { parse as parseCookies, serialize as serializeCookie } from 'cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SCOPES_BY_ROLE } from '@jwt-ms/contracts';
import { Public } from '@jwt-ms/auth-jwt';
import { ProblemException, logSecurityEvent } from '@jwt-ms/service-core';
import { AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../../auth-service.config';
import { AccountsService } from '../../accounts/accounts.service';
import { AuthService } from '../../auth/auth.service';
import { CredentialsRateLimit } from '../../rate-limit/credentials-rate-limit.guard';
import { IssuerMetrics } from '../../telemetry/issuer-metrics';
import { ClientRegistry, type RegisteredClient } from '../clients/client-registry';
import { grantedScopes } from '../grant-policy';
import { oauthError } from '../oauth-error';
import { OAuthApi } from '../oauth.openapi';
import { authorizationResponseUri, parseAuthorizationRequest, type AuthorizationQuery } from './authorization-request';
import { AuthorizationState, newSecret, type AuthorizationRequest, type LoginSession } from './authorization-state';
import { pageSecurityPolicy, renderErrorPage, renderLoginPage } from './login-page';

/** The generic answer to a failed sign-in: the same whether the email is unknown or the password wrong. */
const BAD_CREDENTIALS = 'The email or password is wrong.';
const AUTHORIZE_PATH = '/oauth/authorize';

/**
 * The authorization endpoint (RFC 6749 §3.1, §4.1) with its login page: the
 * authorization-code flow with PKCE `S256` (RFC 7636), for browser clients
 * such as the console. RFC 9700 §2.1.1 requires PKCE and §2.4 rules out the
 * password grant, so this, not `/auth/login`, is how a browser application signs in.
 *
 * - `GET /oauth/authorize`: checks the request ({@link parseAuthorizationRequest}).
 *   With a standing login session at the issuer (its cookie), it answers at
 *   once with a code; otherwise it shows the login page.
 * - `POST /oauth/authorize`: the login page's form. It must come from the page
 *   this browser was shown: same origin, its binding cookie, its CSRF token.
 *   The password is checked as `/auth/login` checks it (argon2id, the same
 *   rate limits); then a login session begins (a cookie, HttpOnly,
 *   SameSite=Lax, Secure on https, for `LOGIN_SESSION_TTL_SECONDS`) and the
 *   browser is sent back to the client with a code.
 *
 * A code is single-use, lives `AUTHORIZATION_CODE_TTL_SECONDS` (≤ 60 s) and is
 * bound to the client, the redirect URI and the code challenge; the token
 * endpoint redeems it. Every redirect carries `iss` (RFC 9207).
 */
@Controller('oauth')
@Public()
export class AuthorizeController {
  private readonly logger = new Logger('Authorize');
  private readonly issuer: string;
  private readonly secureCookies: boolean;

  constructor(
    private readonly registry: ClientRegistry,
    private readonly state: AuthorizationState,
    private readonly auth: AuthService,
    private readonly accounts: AccountsService,
    private readonly metrics: IssuerMetrics,
    @Inject(AUTH_SERVICE_CONFIG) private readonly config: AuthServiceConfig,
  ) {
    this.issuer = config.AUTH_ISSUER.replace(/\/$/, '');
    this.secureCookies = new URL(this.issuer).protocol === 'https:';
  }

  /**
   * `GET /oauth/authorize` (RFC 6749 §4.1.1). 302 to the redirect URI with
   * `code`, `state`, `iss`, or with `error` (§4.1.2.1); 200 the login page;
   * 400 (an HTML page for a browser, else problem+json with `error:
   * invalid_request`) for an unknown client or a redirect URI it did not
   * register, which are never redirected to.
   */
  @OAuthApi.authorize()
  @Get('authorize')
  async authorize(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Query() query: AuthorizationQuery,
  ): Promise<void> {
    const parsed = parseAuthorizationRequest(query, this.registry);
    if (parsed.kind === 'refused') return this.refuse(request, reply, 400, 'invalid_request', parsed.description);
    if (parsed.kind === 'redirect') {
      const { redirectUri, error, description, state } = parsed;
      return this.redirect(
        reply,
        302,
        authorizationResponseUri(redirectUri, { error, error_description: description, state }, this.issuer),
      );
    }
    const { client, request: authorization } = parsed;
    const cookies = this.cookies(request);
    const sessionCookie = cookies[this.cookieName('session')];
    if (sessionCookie !== undefined) {
      const session = await this.state.findSession(sessionCookie);
      if (session && (await this.auth.sessionStands(session))) {
        return this.answerWithCode(reply, 302, client, authorization, session);
      }
      if (session) await this.state.endSession(sessionCookie);
    }
    let browser = cookies[this.cookieName('browser')];
    if (browser === undefined || !/^[A-Za-z0-9_-]{43}$/.test(browser)) {
      browser = newSecret();
      reply.header('set-cookie', this.cookie('browser', browser));
    }
    const { requestId, csrfToken } = await this.state.savePending(authorization, browser);
    this.loginPage(reply, 200, client, authorization, requestId, csrfToken);
  }

  /**
   * `POST /oauth/authorize`: the login form (`request_id`, `csrf_token`,
   * `email`, `password`). 303 to the client's redirect URI with a code; 400
   * the page again with one generic message for bad credentials; 403
   * `access_denied` for a form posted from another origin, without this
   * browser's binding cookie or with a wrong CSRF token (RFC 9700 §4.7); 400
   * `invalid_request` for an expired or unknown request; 429 `rate_limited`
   * as `/auth/login` (per IP and per account).
   */
  @OAuthApi.authorizeForm()
  @Post('authorize')
  @CredentialsRateLimit('email')
  async signIn(@Req() request: FastifyRequest, @Res() reply: FastifyReply, @Body() body: unknown): Promise<void> {
    const form = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const text = (name: string, max: number): string | undefined => {
      const value = form[name];
      return typeof value === 'string' && value !== '' && value.length <= max ? value : undefined;
    };
    if (!this.postedFromThisOrigin(request)) {
      logSecurityEvent(this.logger, 'login_form_forged', { reason: 'posted from another origin' });
      return this.refuse(request, reply, 403, 'access_denied', 'The sign-in form must be posted from its own page.');
    }
    const requestId = text('request_id', 64);
    const csrfToken = text('csrf_token', 64);
    if (requestId === undefined || csrfToken === undefined) {
      return this.refuse(request, reply, 400, 'invalid_request', 'The sign-in form is incomplete.');
    }
    const pending = await this.state.findPending(
      requestId,
      this.cookies(request)[this.cookieName('browser')],
      csrfToken,
    );
    if (pending === 'missing') {
      return this.refuse(
        request,
        reply,
        400,
        'invalid_request',
        'This sign-in page has expired. Go back to the application and sign in again.',
      );
    }
    if (pending === 'forged') {
      logSecurityEvent(this.logger, 'login_form_forged', { reason: 'no matching browser cookie or CSRF token' });
      return this.refuse(request, reply, 403, 'access_denied', 'This sign-in form was not the one shown here.');
    }
    const client = this.registry.find(pending.clientId);
    if (!client) return this.refuse(request, reply, 400, 'invalid_request', 'The client is no longer registered.');
    const email = text('email', 254);
    const password = text('password', 1024);
    let signedIn: Awaited<ReturnType<AuthService['signIn']>>;
    try {
      if (email === undefined || password === undefined)
        throw new ProblemException({
          status: 401,
          code: 'invalid_credentials',
          detail: BAD_CREDENTIALS,
        });
      signedIn = await this.metrics.countLogin(() => this.auth.signIn(email, password));
    } catch (error) {
      if (error instanceof ProblemException && error.code === 'invalid_credentials') {
        return this.loginPage(reply, 400, client, pending, requestId, csrfToken, email, BAD_CREDENTIALS);
      }
      throw error;
    }
    const session: LoginSession = {
      accountId: signedIn.account.id,
      sessionId: randomUUID(),
      authTime: Math.floor(signedIn.startedAt.getTime() / 1000),
    };
    const cookie = await this.state.startSession(session);
    await this.state.dropPending(requestId);
    reply.header('set-cookie', this.cookie('session', cookie));
    return this.answerWithCode(reply, 303, client, pending, session);
  }

  /**
   * Sends the browser back to the client with a code for this session, or
   * with `invalid_scope` when the account's roles allow none of the scopes asked.
   */
  private async answerWithCode(
    reply: FastifyReply,
    status: 302 | 303,
    client: RegisteredClient,
    request: AuthorizationRequest,
    session: LoginSession,
  ): Promise<void> {
    const account = await this.accounts.findById(session.accountId);
    const byRole = new Set((account?.roles ?? []).flatMap((role) => SCOPES_BY_ROLE[role] ?? []));
    // What the client may have and asked for (checked when the request came), narrowed to what this user holds.
    const scopes = grantedScopes(request.scope, client.scopes).filter((scope) => byRole.has(scope));
    if (scopes.length === 0) {
      const location = authorizationResponseUri(
        request.redirectUri,
        {
          error: 'invalid_scope',
          error_description: 'None of the requested scopes can be granted to this account.',
          state: request.state,
        },
        this.issuer,
      );
      return this.redirect(reply, status, location);
    }
    const code = await this.state.issueCode({
      ...session,
      clientId: client.id,
      redirectUri: request.redirectUri,
      codeChallenge: request.codeChallenge,
      scopes,
      audience: request.audience,
    });
    this.redirect(
      reply,
      status,
      authorizationResponseUri(request.redirectUri, { code, state: request.state }, this.issuer),
    );
  }

  private loginPage(
    reply: FastifyReply,
    status: number,
    client: RegisteredClient,
    request: AuthorizationRequest,
    requestId: string,
    csrfToken: string,
    email?: string,
    error?: string,
  ): void {
    const scope = request.scope ?? client.scopes.join(' ');
    const html = renderLoginPage({
      action: AUTHORIZE_PATH,
      clientId: client.id,
      scope,
      requestId,
      csrfToken,
      email,
      error,
    });
    this.sendPage(reply, status, html, new URL(request.redirectUri).origin);
  }

  /**
   * An error that cannot go back to the client: a page for a browser
   * (`Accept: text/html`), otherwise problem+json with RFC 6749 §5.2's `error`.
   */
  private refuse(
    request: FastifyRequest,
    reply: FastifyReply,
    status: 400 | 403,
    code: 'invalid_request' | 'access_denied',
    detail: string,
  ): void {
    if (!(request.headers.accept ?? '').includes('text/html')) {
      if (code === 'invalid_request') throw oauthError('invalid_request', detail);
      throw new ProblemException({
        status,
        code,
        detail,
        extensions: { error: code, error_description: detail },
      });
    }
    this.sendPage(
      reply,
      status,
      renderErrorPage(status === 403 ? 'Refused' : 'This request cannot be completed', detail),
    );
  }

  private sendPage(reply: FastifyReply, status: number, html: string, redirectOrigin?: string): void {
    reply
      .status(status)
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', pageSecurityPolicy(redirectOrigin))
      .header('x-frame-options', 'DENY')
      .header('cache-control', 'no-store')
      // Not no-referrer: with it a browser sends `Origin: null` on the form's POST (Fetch §3.1, "serializing
      // a request origin"), and the origin check above would refuse every real login. same-origin keeps the
      // Referer and the real Origin on the form's post to itself, and sends nothing to the client's origin.
      .header('referrer-policy', 'same-origin')
      .send(html);
  }

  private redirect(reply: FastifyReply, status: 302 | 303, location: string): void {
    reply.status(status).header('location', location).header('cache-control', 'no-store').send();
  }

  /**
   * A browser says where a form comes from: `Origin` (RFC 6454 §7; sent with
   * every cross-origin POST and by current browsers with same-origin ones too)
   * and `Sec-Fetch-Site` (Fetch Metadata). Either naming another origin (a
   * sibling port on the same host is same-site, not same-origin) refuses the form.
   */
  private postedFromThisOrigin(request: FastifyRequest): boolean {
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== new URL(this.issuer).origin) return false;
    const site = request.headers['sec-fetch-site'];
    return site === undefined || site === 'same-origin' || site === 'none';
  }

  private cookies(request: FastifyRequest): Record<string, string | undefined> {
    const header = request.headers.cookie;
    return header ? parseCookies(header) : {};
  }

  /**
   * The issuer's cookies: `browser` binds a login page to the browser it was
   * shown to; `session` is the login session. `__Host-` names on https (RFC 6265bis §4.1.3.2: Secure, Path=/,
   * no Domain); on http, scoped to the OAuth paths.
   */
  private cookieName(kind: 'browser' | 'session'): string {
    return this.secureCookies ? `__Host-jwtms-${kind}` : `jwtms-${kind}`;
  }

  private cookie(kind: 'browser' | 'session', value: string): string {
    return serializeCookie(this.cookieName(kind), value, {
      httpOnly: true,
      secure: this.secureCookies,
      sameSite: 'lax',
      path: this.secureCookies ? '/' : '/oauth/',
      maxAge: this.config.LOGIN_SESSION_TTL_SECONDS,
    });
  }
}
