import { Controller, Delete, HttpCode, Param, Post } from '@nestjs/common';
import { RequireRoles } from '@jwt-ms/auth-jwt';
import { parseUuid } from '@jwt-ms/service-core';
import { AuthService } from './auth.service';
import { KeyStore } from '../keys/key-store';
import { AdminApi } from './auth.openapi';

/** Administration of accounts' tokens and of the signing keys. Role `admin`; everyone else gets 403 `insufficient_scope`. */
@Controller('auth/admin')
@RequireRoles('admin')
export class AdminController {
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
  rotateKeys() {
    const result = this.keyStore.rotate();
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
  async revokeTokens(@Param('id', parseUuid('id')) id: string): Promise<void> {
    await this.auth.assertAccountExists(id);
    await this.auth.revokeAll(id);
  }

  /** `DELETE /auth/admin/users/:id` → 204; the account is deleted and its tokens revoked; 404 if unknown. */
  @AdminApi.delete()
  @Delete('users/:id')
  @HttpCode(204)
  delete(@Param('id', parseUuid('id')) id: string): Promise<void> {
    return this.auth.deleteAccount(id);
  }
}
