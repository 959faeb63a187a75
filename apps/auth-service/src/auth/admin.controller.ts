import { Controller, Delete, HttpCode, Param, Post } from '@nestjs/common';
import { RequireRoles } from '@jwt-ms/auth-jwt';
import { parseUuid } from '@jwt-ms/service-core';
import { AuthService } from './auth.service';

/** Administration of accounts' tokens. Role `admin`; everyone else gets 403 `insufficient_scope`. */
@Controller('auth/admin/users')
@RequireRoles('admin')
export class AdminController {
  constructor(private readonly auth: AuthService) {}

  /** `POST /auth/admin/users/:id/revoke-tokens` → 204; every access and refresh token of that user is revoked; 404 if unknown. */
  @Post(':id/revoke-tokens')
  @HttpCode(204)
  async revokeTokens(@Param('id', parseUuid('id')) id: string): Promise<void> {
    await this.auth.assertAccountExists(id);
    await this.auth.revokeAll(id);
  }

  /** `DELETE /auth/admin/users/:id` → 204; the account is deleted and its tokens revoked; 404 if unknown. */
  @Delete(':id')
  @HttpCode(204)
  delete(@Param('id', parseUuid('id')) id: string): Promise<void> {
    return this.auth.deleteAccount(id);
  }
}
