import { Body, Controller, Header, HttpCode, Post } from '@nestjs/common';
import type { TokenResponse } from '@jwt-ms/contracts';
import { CurrentUser, Public, type UserPrincipal } from '@jwt-ms/auth-jwt';
import { AccountsService } from '../accounts/accounts.service';
import { AuthService } from './auth.service';
import { IssuerMetrics } from '../telemetry/issuer-metrics';
import { CredentialsRateLimit } from '../rate-limit/credentials-rate-limit.guard';
import { TokenRateLimit } from '../rate-limit/token-rate-limit';
import { ChangePasswordDto, LoginDto, RefreshDto, RegisterDto } from './auth.dto';
import { AuthApi } from './auth.openapi';

/**
 * The issuer's HTTP API. Token responses carry `Cache-Control: no-store`
 * (RFC 6749 §5.1).
 */
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly accounts: AccountsService,
    private readonly metrics: IssuerMetrics,
  ) {}

  /** `POST /auth/register` → 201 `{id, email}`; 409 `email_taken`; 400 on a bad email or short password; 429 `rate_limited`. */
  @AuthApi.register()
  @Post('register')
  @Public()
  @CredentialsRateLimit('email')
  async register(@Body() body: RegisterDto): Promise<{ id: string; email: string }> {
    const account = await this.accounts.register(body.email, body.password);
    return { id: account.id, email: account.email };
  }

  /** `POST /auth/login` → 200 token response (RFC 6749 §5.1); 401 `invalid_credentials`; 429 `rate_limited`. */
  @AuthApi.login()
  @Post('login')
  @Public()
  @CredentialsRateLimit('email')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  login(@Body() body: LoginDto): Promise<TokenResponse> {
    return this.metrics.countLogin(() => this.auth.login(body.email, body.password));
  }

  /**
   * `POST /auth/refresh` → 200 new pair; 400 `invalid_grant` (RFC 6749 §5.2); 429 over
   * `AUTH_TOKEN_RATE_LIMIT_PER_IP` requests per window from one address.
   */
  @AuthApi.refresh()
  @Post('refresh')
  @Public()
  @TokenRateLimit()
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  refresh(@Body() body: RefreshDto): Promise<TokenResponse> {
    return this.auth.refresh(body.refresh_token);
  }

  /** `POST /auth/logout` (Bearer) → 204; revokes the presented access token and its whole session. */
  @AuthApi.logout()
  @Post('logout')
  @HttpCode(204)
  logout(@CurrentUser() principal: UserPrincipal): Promise<void> {
    return this.auth.logout(principal);
  }

  /** `POST /auth/logout-all` (Bearer) → 204; revokes every access and refresh token of the caller. */
  @AuthApi.logoutAll()
  @Post('logout-all')
  @HttpCode(204)
  logoutAll(@CurrentUser() principal: UserPrincipal): Promise<void> {
    return this.auth.revokeAll(principal.subject);
  }

  /**
   * `POST /auth/password` (Bearer) `{current_password, new_password}` → 204;
   * every token of the caller is revoked: log in again. 403 `invalid_credentials`;
   * 429 `rate_limited` (per IP and per caller, as login: each attempt checks a password).
   */
  @AuthApi.changePassword()
  @Post('password')
  @CredentialsRateLimit('subject')
  @HttpCode(204)
  changePassword(@CurrentUser() principal: UserPrincipal, @Body() body: ChangePasswordDto): Promise<void> {
    return this.auth.changePassword(principal, body.current_password, body.new_password);
  }
}
