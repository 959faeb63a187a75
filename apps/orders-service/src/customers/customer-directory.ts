import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  TokenExchangeClient,
  DownstreamAnswerError,
  describeExchangedToken,
  downstreamProblem,
  getOnBehalf,
  type ExchangedTokenView,
  type UserPrincipal,
} from '@jwt-ms/auth-jwt';
import { ORDERS_SERVICE_CONFIG, type OrdersServiceConfig } from '../orders-service.config';

/** The scope asked for in the exchange: a profile read, nothing of what the user's own token may do besides. */
export const PROFILE_SCOPE = 'profile:read';

/** Longest `customerName`, in Unicode code points: users-service's bound and the `varchar(100)` column's. */
export const CUSTOMER_NAME_MAX_LENGTH = 100;

/** What {@link CustomerDirectory.lookUp} found. */
export interface CustomerLookup {
  /** Their `displayName`, or null when they have set none (always null with `CUSTOMER_NAMES=off`). */
  displayName: string | null;
  /**
   * Only when `explainExchange` was asked for: the exchanged token the users call was made with, decoded
   * (never the token itself), whether it was exchanged now or reused from the cache; null when no exchange
   * was made (`CUSTOMER_NAMES=off`).
   */
  exchange?: ExchangedTokenView | null;
}

/**
 * The customer's profile as users-service holds it, read over HTTP on the
 * customer's behalf: the user's token is exchanged at the issuer (RFC 8693)
 * for one whose `aud` is users-service only, with `act: {sub: orders-service}`
 * and scope `profile:read`, then `GET /users/me` is called with it. In a
 * cluster that is the users Kubernetes Service (a NetworkPolicy lets orders,
 * and only orders, reach it). The exchanged token is cached per subject token
 * ({@link TokenExchangeClient}), so a burst of orders costs one exchange.
 */
@Injectable()
export class CustomerDirectory {
  private readonly logger = new Logger('CustomerDirectory');
  /** users-service's `GET /users/me`, resolved once. */
  private readonly profileUrl: string;

  constructor(
    private readonly exchange: TokenExchangeClient,
    @Inject(ORDERS_SERVICE_CONFIG) private readonly config: OrdersServiceConfig,
  ) {
    this.profileUrl = new URL('/users/me', config.USERS_SERVICE_URL).href;
  }

  /**
   * The customer's display name (and, when asked, the exchanged token decoded), within
   * `USERS_SERVICE_TIMEOUT_MS` (milliseconds) for the exchange and the call together.
   *
   * @param customer the verified caller
   * @param subjectToken the access token they presented (the exchange's `subject_token`)
   * @param options `explainExchange`: also return the exchanged token decoded ({@link describeExchangedToken}),
   *   for `POST /orders?explain=exchange`; decoding happens only then, and only once the users call succeeded
   * @returns `{displayName}`, plus `exchange` when asked (see {@link CustomerLookup})
   * @throws ProblemException 401 `invalid_token` (reason `refused_downstream`) when the issuer or users-service
   *   refuses the token on their behalf (revoked or expired meanwhile); 503 `dependency_unavailable` with
   *   `Retry-After` when either does not answer in time, answers an error, or refuses this client
   */
  async lookUp(
    customer: UserPrincipal,
    subjectToken: string,
    options: { explainExchange?: boolean } = {},
  ): Promise<CustomerLookup> {
    if (this.config.CUSTOMER_NAMES === 'off') {
      return options.explainExchange ? { displayName: null, exchange: null } : { displayName: null };
    }
    const deadline = AbortSignal.timeout(this.config.USERS_SERVICE_TIMEOUT_MS);
    const request = { audience: this.config.USERS_SERVICE_AUDIENCE, scope: PROFILE_SCOPE };
    try {
      const token = await this.exchange.tokenFor(subjectToken, request, deadline);
      const profile = await getOnBehalf(this.profileUrl, token, deadline);
      const displayName = displayNameIn(profile, customer.subject);
      if (!options.explainExchange) return { displayName };
      return { displayName, exchange: describeExchangedToken(token, request) };
    } catch (error) {
      throw downstreamProblem(error, {
        realm: this.config.AUTH_AUDIENCE,
        dependency: 'users-service',
        timeoutMs: this.config.USERS_SERVICE_TIMEOUT_MS,
        logger: this.logger,
      });
    }
  }
}

/**
 * @throws DownstreamAnswerError `failed` when the body is not the profile of `subject` (a users-service bug,
 *   or a token for someone else: never stamp another person's name on an order), or a name longer than
 *   {@link CUSTOMER_NAME_MAX_LENGTH} code points (the column would refuse it with a 500)
 */
function displayNameIn(profile: unknown, subject: string): string | null {
  const fields = (typeof profile === 'object' && profile !== null ? profile : {}) as Record<string, unknown>;
  const name = fields['displayName'];
  if (
    fields['id'] !== subject ||
    (name !== null && (typeof name !== 'string' || [...name].length > CUSTOMER_NAME_MAX_LENGTH))
  ) {
    throw new DownstreamAnswerError('failed', 200);
  }
  return name;
}
