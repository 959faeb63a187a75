import { Controller, Get } from '@nestjs/common';
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
  whoami(@CurrentPrincipal() principal: Principal): { principal: Principal; instance: string } {
    return { principal, instance: INSTANCE_ID };
  }
}
