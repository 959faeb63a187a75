import { Controller, Get } from '@nestjs/common';
import { INSTANCE_ID } from '@jwt-ms/service-core';
import { CurrentUser } from './decorators/current-user.decorator';
import type { Principal } from './principal';

/**
 * `GET /whoami`: the verified principal as this service sees it, and which
 * replica answered. Touches no database: with `GET /health/live` beside it,
 * it is the guarded/public pair for measuring what verification costs.
 */
@Controller('whoami')
export class WhoamiController {
  /** @returns `{principal, instance}` for any valid access token */
  @Get()
  whoami(@CurrentUser() principal: Principal): { principal: Principal; instance: string } {
    return { principal, instance: INSTANCE_ID };
  }
}
