import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { CurrentUser, PresentedToken, RequireScopes, type UserPrincipal } from '@jwt-ms/auth-jwt';
import { PageQueryDto, ProblemException, parseUuid, type Page } from '@jwt-ms/service-core';
import {
  CreateOrderDto,
  CreateOrderQueryDto,
  EXPLAIN_EXCHANGE,
  type OrderView,
  type PlacedOrderView,
} from './order.dto';
import { OrdersService } from './orders.service';
import { OrdersApi } from './orders.openapi';
import { PROFILE_SCOPE } from '../customers/customer-directory';
import { ORDERS_SERVICE_CONFIG, type OrdersServiceConfig } from '../orders-service.config';

/** Orders API. Every route needs a valid access token (global guard). */
@Controller('orders')
export class OrdersController {
  constructor(
    private readonly orders: OrdersService,
    @Inject(ORDERS_SERVICE_CONFIG) private readonly config: OrdersServiceConfig,
  ) {}

  /**
   * `POST /orders` `{items: [{sku, quantity, unitPriceCents}]}` → 201 order, stamped with the
   * customer's display name from users-service (called on their behalf). Scopes `orders:write`
   * and `profile:read`: the second is what the exchanged token carries (RFC 8693 narrows, never
   * widens), so a token without it is refused here, before any call. 503 `dependency_unavailable`
   * when users-service or the issuer does not answer within `USERS_SERVICE_TIMEOUT_MS`; 401
   * `invalid_token` (reason `refused_downstream`) when either refuses the token on the user's
   * behalf; nothing is written then.
   *
   * With `?explain=exchange` ({@link CreateOrderQueryDto}, which says why a query parameter) the 201 answer
   * also carries `exchange: {header, claims, audience, scope}`: the token exchanged for the users call,
   * decoded, never the token itself (`describeExchangedToken`); null with `CUSTOMER_NAMES=off`. Where
   * `EXPLAIN_EXCHANGE=off` (the production default, docs/security.md) that query is a 400
   * `validation_failed` on `explain`, before any call, and nothing is written.
   */
  @OrdersApi.create()
  @Post()
  @RequireScopes('orders:write', PROFILE_SCOPE)
  create(
    @CurrentUser() principal: UserPrincipal,
    @PresentedToken() token: string,
    @Body() body: CreateOrderDto,
    @Query() query: CreateOrderQueryDto,
  ): Promise<PlacedOrderView> {
    const explainExchange = query.explain === EXPLAIN_EXCHANGE;
    if (explainExchange && this.config.EXPLAIN_EXCHANGE === 'off') {
      throw new ProblemException({
        status: 400,
        code: 'validation_failed',
        detail: 'The request is not valid; see `errors`.',
        errors: [{ field: 'explain', message: 'explain=exchange is turned off on this deployment' }],
      });
    }
    return this.orders.create(principal, token, body.items, { explainExchange });
  }

  /** `GET /orders?limit&offset` → own orders (an admin: all). Scope `orders:read`. */
  @OrdersApi.list()
  @Get()
  @RequireScopes('orders:read')
  list(@CurrentUser() principal: UserPrincipal, @Query() query: PageQueryDto): Promise<Page<OrderView>> {
    return this.orders.list(principal, query.limit, query.offset);
  }

  /** `GET /orders/:id` → the order for its owner or an admin; 404 for anyone else. Scope `orders:read`. */
  @OrdersApi.get()
  @Get(':id')
  @RequireScopes('orders:read')
  get(@CurrentUser() principal: UserPrincipal, @Param('id', parseUuid('id')) id: string): Promise<OrderView> {
    return this.orders.get(principal, id);
  }

  /** `POST /orders/:id/cancel` → 200 cancelled order; 404 as above; 409 if already cancelled. Scope `orders:write`. */
  @OrdersApi.cancel()
  @Post(':id/cancel')
  @HttpCode(200)
  @RequireScopes('orders:write')
  cancel(@CurrentUser() principal: UserPrincipal, @Param('id', parseUuid('id')) id: string): Promise<OrderView> {
    return this.orders.cancel(principal, id);
  }
}
