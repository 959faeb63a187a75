import { Controller, Delete, HttpCode, Logger, Param, Post } from '@nestjs/common';
import { CurrentUser, RequireRoles, type UserPrincipal } from '@jwt-ms/auth-jwt';
import { logSecurityEvent, parseUuid } from '@jwt-ms/service-core';
import { AuthService } from './auth.service';
import { KeyStore } from '../keys/key-store';
import { AdminApi } from './auth.openapi';

/** Administration of accounts' tokens and of the signing keys. Role `admin`; everyone else gets 403 `insufficient_scope`. */
@Controller('auth/admin')
@RequireRoles('admin')
export class AdminController {
  private readonly logger = new Logger('Admin');

  constructor(
    private readonly auth: AuthService,
    private readonly keyStore: KeyStore,
  ) {}

  /**
   * `POST /auth/admin/keys/rotate` → 200 `{kid, signsFrom, retiring, removed}`: a new
   * signing key, published now, signing after `SIGNING_KEY_LEAD_SECONDS`; the
   * old key retires when its tokens have expired. Times are ISO 8601.
   * 409 `conflict` when the keys come from `SIGNING_JWKS`.
   */
  @AdminApi.rotateKeys()
  @Post('keys/rotate')
  @HttpCode(200)
  rotateKeys(@CurrentUser() admin: UserPrincipal) {
    const result = this.keyStore.rotate();
    this.audit(admin, 'rotate_signing_keys', { kid: result.kid });
    const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
    return {
      kid: result.kid,
      signsFrom: iso(result.signsFrom),
      retiring: result.retiring.map(({ kid, retiresAt }) => ({ kid, retiresAt: iso(retiresAt) })),
      removed: result.removed,
    };
  }

  /** `POST /auth/admin/users/:id/revoke-tokens` → 204; every access and refresh token of that user is revoked; 404 if unknown. */
  @AdminApi.revokeTokens()
  @Post('users/:id/revoke-tokens')
  @HttpCode(204)
  async revokeTokens(@CurrentUser() admin: UserPrincipal, @Param('id', parseUuid('id')) id: string): Promise<void> {
    await this.auth.assertAccountExists(id);
    await this.auth.revokeAll(id);
    this.audit(admin, 'revoke_user_tokens', { target_sub: id });
  }

  /** `DELETE /auth/admin/users/:id` → 204; the account is deleted and its tokens revoked; 404 if unknown. */
  @AdminApi.delete()
  @Delete('users/:id')
  @HttpCode(204)
  async delete(@CurrentUser() admin: UserPrincipal, @Param('id', parseUuid('id')) id: string): Promise<void> {
    await this.auth.deleteAccount(id);
    this.audit(admin, 'delete_user', { target_sub: id });
  }

  /** An `admin_action` line once the action succeeded: who (`sub`, `client_id`), what, on which id. */
  private audit(admin: UserPrincipal, action: string, target: Record<string, string>): void {
    logSecurityEvent(
      this.logger,
      'admin_action',
      { action, sub: admin.subject, client_id: admin.clientId, ...target },
      'log',
    );
  }
}
