import { Body, Controller, Get, Param, Patch, Query } from '@nestjs/common';
import { AcceptPrincipals, CurrentUser, RequireScopes, isAdmin, type UserPrincipal } from '@jwt-ms/auth-jwt';
import { PageQueryDto, notFound, parseUuid, type Page } from '@jwt-ms/service-core';
import { ProfilesService } from './profiles.service';
import { UpdateProfileDto, type ProfileView } from './profile.dto';
import { UsersApi } from './users.openapi';

/**
 * Profiles API. Every route needs a valid access token (global guard), a
 * user's unless it says otherwise.
 */
@Controller('users')
export class UsersController {
  constructor(private readonly profiles: ProfilesService) {}

  /** `GET /users/me` → the caller's profile, created on first use. Scope `profile:read`. */
  @UsersApi.me()
  @Get('me')
  @RequireScopes('profile:read')
  me(@CurrentUser() principal: UserPrincipal): Promise<ProfileView> {
    return this.profiles.me(principal);
  }

  /** `PATCH /users/me` `{displayName}` → the updated profile. Scope `profile:write`. */
  @UsersApi.update()
  @Patch('me')
  @RequireScopes('profile:write')
  update(@CurrentUser() principal: UserPrincipal, @Body() body: UpdateProfileDto): Promise<ProfileView> {
    return this.profiles.update(principal, body.displayName);
  }

  /**
   * `GET /users?limit&offset` → all profiles. Scope `users:read`: an admin's
   * token, or a service token (client credentials) of a client registered
   * for it, such as a reporting job; the only route here a service may call.
   */
  @UsersApi.list()
  @Get()
  @AcceptPrincipals('user', 'service')
  @RequireScopes('users:read')
  list(@Query() query: PageQueryDto): Promise<Page<ProfileView>> {
    return this.profiles.list(query.limit, query.offset);
  }

  /**
   * `GET /users/:id` → a profile, for an admin or the user themself; anyone
   * else gets 404, as for an id that does not exist, so ids don't leak. Scope `profile:read`.
   */
  @UsersApi.get()
  @Get(':id')
  @RequireScopes('profile:read')
  get(@CurrentUser() principal: UserPrincipal, @Param('id', parseUuid('id')) id: string): Promise<ProfileView> {
    if (!isAdmin(principal) && id !== principal.subject) throw notFound('user');
    if (id === principal.subject) return this.profiles.me(principal);
    return this.profiles.get(id);
  }
}
