import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ROLE_ADMIN, ROLE_USER, type Role } from '@jwt-ms/contracts';
import { ProblemException } from '@jwt-ms/service-core';
import { AUTH_SERVICE_CONFIG, type AuthServiceConfig } from '../auth-service.config';
import { AuthService } from '../auth/auth.service';
import type { Account } from './account.entity';
import { AccountsService } from './accounts.service';

/** Takeovers tried before giving up, when the account's password changes under it each time. */
const TAKEOVER_ATTEMPTS = 5;

/** The roles of the configured admin, exactly. */
const ADMIN_ROLES: Role[] = [ROLE_USER, ROLE_ADMIN];

/**
 * Makes the account of `ADMIN_EMAIL` the operator's, at every start, before the
 * service listens. Nobody verifies the email addresses people register, so an
 * account already holding that address may be anyone's (registered in advance,
 * or again after the admin account was deleted): it is never merely promoted.
 *
 * - no account: one is created with `ADMIN_PASSWORD` and roles `user`, `admin`;
 * - an account that is admin (and nothing more) and whose hash verifies
 *   `ADMIN_PASSWORD`: left alone;
 * - any other: taken over. Its password becomes `ADMIN_PASSWORD`, every session
 *   and token it had is revoked (a "not before" watermark in Redis and its refresh
 *   tokens in the database, as logout everywhere does), its roles become exactly
 *   `user`, `admin`, and a WARN says so. The steps run in that order, and the
 *   admin role comes last: if the start fails half way (Redis down), the account
 *   is not yet admin, so the next start takes it over again rather than skip it.
 *
 * `ADMIN_PASSWORD` is authoritative: an admin password changed through the API
 * lasts until the next start. Rotate the admin's password by changing the
 * configuration (a Secret) instead.
 *
 * A separate provider, not a hook of `AccountsService`: revoking needs
 * `AuthService`, which itself needs `AccountsService`.
 *
 * @throws at start (the service does not start) when Redis cannot record the revocation
 */
@Injectable()
export class AdminAccountBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger('AdminAccount');

  constructor(
    private readonly accounts: AccountsService,
    private readonly auth: AuthService,
    @Inject(AUTH_SERVICE_CONFIG) private readonly config: AuthServiceConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { ADMIN_EMAIL: email, ADMIN_PASSWORD: password } = this.config;
    if (!email || !password) return;
    const existing = (await this.accounts.findByEmail(email)) ?? (await this.createAdmin(email, password));
    if (!existing) return;
    if (isExactlyAdmin(existing) && (await this.accounts.passwordMatches(existing, password))) return;
    // A password change that verified the old password on another replica may land between these writes:
    // every password write is compare-and-set, and the admin role is given only with the hash written here.
    for (let attempt = 1; ; attempt += 1) {
      const written = await this.accounts.resetCredentials(existing.id, password, [ROLE_USER]);
      await this.auth.revokeAll(existing.id);
      if (await this.accounts.setRolesIfPassword(existing.id, written, ADMIN_ROLES)) break;
      if (attempt === TAKEOVER_ATTEMPTS)
        throw new Error(`ADMIN_EMAIL: the account's password kept changing during the takeover; not starting`);
    }
    this.logger.warn(
      `ADMIN_EMAIL: account ${existing.id} held the configured address but was not an admin with ADMIN_PASSWORD ` +
        `(registered by someone else, or its password was changed): TAKEN OVER. Its password is now ADMIN_PASSWORD, ` +
        `its roles exactly ${ADMIN_ROLES.join(', ')}, and every session and token it had is revoked.`,
    );
  }

  /** @returns null when created; the account when another replica created it meanwhile */
  private async createAdmin(email: string, password: string): Promise<Account | null> {
    try {
      await this.accounts.create(email, password, ADMIN_ROLES);
      this.logger.log('created the admin account from ADMIN_EMAIL');
      return null;
    } catch (error) {
      if (!(error instanceof ProblemException && error.code === 'email_taken')) throw error;
      return this.accounts.findByEmail(email);
    }
  }
}

function isExactlyAdmin(account: Account): boolean {
  return account.roles.includes(ROLE_ADMIN) && account.roles.every((role) => ADMIN_ROLES.includes(role));
}
