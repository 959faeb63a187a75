import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { INSTANCE_ID } from '@jwt-ms/service-core';
import { AcceptPrincipals } from './decorators/access-policy.decorator';
import { CurrentPrincipal } from './decorators/current-user.decorator';
import type { Principal } from './principal';

/**
 * `GET /whoami`: the verified principal as this service sees it (user or
 * service, `kind` says which; a user's `actor` names the client acting for
 * them in an exchanged token), and which replica answered. Touches no
 * database: with `GET /health/live` beside it, it is the guarded/public pair
 * for measuring what verification costs.
 */
@Controller('whoami')
@AcceptPrincipals('user', 'service')
export class WhoamiController {
  /** @returns `{principal, instance}` for any valid access token, user's or service's */
  @Get()
  @ApiOperation({ summary: 'The verified caller, and which replica answered' })
  @ApiOkResponse({
    schema: {
      type: 'object',
      required: ['principal', 'instance'],
      properties: {
        principal: { type: 'object', description: '`kind` `user` or `service`, then its claims.' },
        instance: { type: 'string', description: "The replica's `X-Instance-Id`." },
      },
    },
    example: {
      principal: { kind: 'user', subject: '6f1c1a52-8d0e-4a4b-9c1e-3b5f2a7d9e10', scopes: ['profile:read'] },
      instance: 'users-service-7d9f-1',
    },
  })
  whoami(@CurrentPrincipal() principal: Principal): { principal: Principal; instance: string } {
    return { principal, instance: INSTANCE_ID };
  }
}
