import { Controller, Get, Header, Inject, Req, SetMetadata, type Type } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import type { IncomingHttpHeaders } from 'node:http';
import { INSTANCE_ID, Public } from '@jwt-ms/service-core';
import { AUTH_JWT_SETTINGS, type ResolvedAuthJwtOptions } from './auth-jwt.options';
import { extractBearerToken } from './access-token.checks';
import { AccessTokenVerifier } from './access-token.verifier';
import type { RevokedBy, RevocationSource } from './revocation';
import { TokenMissingError, verificationProblem } from './token-rejection';

/**
 * Route metadata of a `@Public()` route that verifies the bearer token itself
 * (every check but revocation): the API document describes it as needing a
 * bearer token, which it does ({@link TokenAccessPolicy}).
 */
export const VERIFIES_OWN_TOKEN_KEY = 'jwtms:verifiesOwnToken';

/** The body of `GET /<resource>/revocation-status`. */
export interface RevocationStatusBody {
  /** This service's audience (`aud`), e.g. `users-service`. */
  service: string;
  /** The replica that answered (its `X-Instance-Id`). */
  instance: string;
  /** Whether this replica refuses the token as revoked. */
  revoked: boolean;
  /** Which entry revokes it: its `jti`, its session `sid`, or its subject's watermark (logout everywhere). */
  by?: RevokedBy;
  /** When the issuer announced that entry (its log entry's time, ISO 8601); absent when it was found by a full read of the stored entries. */
  announcedAt?: string;
  /** When this replica applied it (ISO 8601, this host's clock). */
  appliedAt?: string;
  /** From announcement to application on this replica, in milliseconds; null when not measured (`source: 'load'`). */
  delayMs?: number | null;
  /** `pubsub`: pushed by the issuer's log as it was written; `load`: found by a full read (start, or a reload). */
  source?: RevocationSource;
}

const STATUS_EXAMPLE: RevocationStatusBody = {
  service: 'users-service',
  instance: 'users-service-7d9f-1',
  revoked: true,
  by: 'session',
  announcedAt: '2026-12-03T18:30:00.120Z',
  appliedAt: '2026-12-03T18:30:00.121Z',
  delayMs: 1,
  source: 'pubsub',
};

/**
 * A controller for `GET /<resource>/revocation-status` (under the service's own
 * path, `users` or `orders`, so every gateway that routes the service routes it):
 * whether this replica refuses the caller's bearer token as revoked, and, from
 * its own measurement, when the issuer announced the revocation, when this
 * replica applied it and the delay between (the log's timestamp against this
 * host's clock, {@link AppliedRevocations}). What lets a console show, after a
 * logout, each replica refusing the token and how long it took.
 *
 * The token goes through every check of the pipeline but revocation
 * ({@link AccessTokenVerifier.revocationStatus}: size, shape, header, `alg`,
 * `typ`, key, signature, `iss`, `aud`, `exp`, `nbf`, claims, lifetime). So it is
 * the one route a revoked token reaches, and it must open nothing:
 * - it grants nothing: the route is `@Public()` to the global guard, so no
 *   principal is set on the request and no scope or role applies; the verifier
 *   returns the status, never the principal, and the handler does nothing else;
 * - it tells only about the token presented, looked up by the `jti`, `sid` and
 *   `sub` the token itself carries, which its holder could read anyway; only the
 *   issuer can sign a token, so nobody can ask about an id of their choosing;
 * - what it adds to the 401 every other route gives a revoked token
 *   (`revoked_session`, …) is when the issuer announced the revocation and how
 *   long this replica took: the holder learns when their own session ended;
 * - a token that fails any other check gets the usual 401 `invalid_token`
 *   problem with its RFC 6750 §3 challenge, no token the usual 401
 *   `unauthenticated`: expired, foreign or forged tokens learn nothing;
 * - a list that could not refuse a token (never loaded; stale or lost under
 *   `fail-closed`) answers the pipeline's 503: it never says "not revoked" when
 *   it cannot know. Under `fail-open` it answers as the pipeline does, from the
 *   last copy;
 * - it costs what any guarded request costs (one signature verification), and
 *   the answer is `Cache-Control: no-store` (RFC 6750 §5.3).
 *
 * @param resource the service's first path segment, without slashes: `users`, `orders`
 * @returns the controller class, for the app module's `controllers`
 */
export function revocationStatusController(resource: string): Type {
  if (!/^[a-z][a-z0-9-]*$/.test(resource))
    throw new Error(`revocationStatusController: "${resource}" is not a path segment`);

  @Controller(resource)
  class RevocationStatusController {
    constructor(
      private readonly verifier: AccessTokenVerifier,
      @Inject(AUTH_JWT_SETTINGS) private readonly settings: ResolvedAuthJwtOptions,
    ) {}

    /**
     * @param request only its `Authorization` header is read (RFC 6750 §2.1)
     * @returns the status of the presented token on this replica (see {@link RevocationStatusBody})
     * @throws ProblemException 401 `unauthenticated` (no token), 401 `invalid_token` (any check but revocation
     *   failed), 503 `dependency_unavailable` (keys never loaded, revocation list unavailable)
     */
    @Get('revocation-status')
    @Public()
    @SetMetadata(VERIFIES_OWN_TOKEN_KEY, true)
    @Header('Cache-Control', 'no-store')
    @ApiOperation({
      summary:
        'Whether this replica refuses the presented token as revoked, and how long the revocation took to reach it',
      description:
        'The token passes every check but revocation (signature, `alg`, `typ`, `iss`, `aud`, `exp`, `nbf`, claims); ' +
        'a revoked one is answered 200 with `revoked: true`, the kind of entry that revokes it and, measured by ' +
        "this replica, the issuer's announcement time, its own application time and the delay between. " +
        '`announcedAt`, `appliedAt`, `delayMs` and `source` are absent when the replica holds no record of the ' +
        'entry (it keeps the last 4096 per source, at most 4096 per full read); `delayMs` is null and `announcedAt` may be absent for ' +
        '`source: load` (found by a full read of the list, not pushed). A revocation list that cannot be trusted ' +
        'answers 503, never `revoked: false`.',
    })
    @ApiOkResponse({
      description: "The presented token's revocation status on this replica.",
      schema: {
        type: 'object',
        required: ['service', 'instance', 'revoked'],
        properties: {
          service: { type: 'string', description: "This service's audience (`aud`)." },
          instance: { type: 'string', description: "The replica's `X-Instance-Id`." },
          revoked: { type: 'boolean', description: 'Whether this replica refuses the token as revoked.' },
          by: {
            type: 'string',
            enum: ['token', 'session', 'subject'],
            description:
              'The entry that revokes it: its `jti`, its session (`sid`: logout), its subject (`sub`: logout everywhere).',
          },
          announcedAt: { type: 'string', format: 'date-time', description: "The issuer's log entry time." },
          appliedAt: { type: 'string', format: 'date-time', description: 'When this replica applied it (its clock).' },
          delayMs: {
            type: 'number',
            nullable: true,
            minimum: 0,
            description: 'appliedAt − announcedAt in milliseconds; null when not measured (source load).',
          },
          source: {
            type: 'string',
            enum: ['pubsub', 'load'],
            description: "`pubsub`: pushed by the issuer's log; `load`: found by a full read.",
          },
        },
      },
      example: STATUS_EXAMPLE,
    })
    async status(@Req() request: { headers: IncomingHttpHeaders }): Promise<RevocationStatusBody> {
      const realm = this.settings.audience;
      let status;
      try {
        const token = extractBearerToken(request.headers);
        if (token === null) throw new TokenMissingError();
        status = await this.verifier.revocationStatus(token);
      } catch (error) {
        throw verificationProblem(error, realm);
      }
      const body: RevocationStatusBody = { service: realm, instance: INSTANCE_ID, revoked: status.revoked };
      if (!status.revoked) return body;
      body.by = status.by;
      const applied = status.applied;
      if (applied === null) return body;
      if (applied.announcedAtMs !== null) body.announcedAt = new Date(applied.announcedAtMs).toISOString();
      body.appliedAt = new Date(applied.appliedAtMs).toISOString();
      body.delayMs = applied.delayMs;
      body.source = applied.source;
      return body;
    }
  }
  return RevocationStatusController;
}
