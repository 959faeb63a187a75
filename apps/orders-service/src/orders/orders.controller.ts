import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CurrentUser, RequireScopes, type UserPrincipal } from '@jwt-ms/auth-jwt';
import { PageQueryDto, parseUuid, type Page } from '@jwt-ms/service-core';
import { CreateOrderDto, type OrderView } from './order.dto';
import { OrdersService } from './orders.service';

/** Orders API. Every route needs a valid access token (global guard). */
@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  /** `POST /orders` `{items: [{sku, quantity, unitPriceCents}]}` → 201 order. Scope `orders:write`. */
  @Post()
  @RequireScopes('orders:write')
  create(@CurrentUser() principal: UserPrincipal, @Body() body: CreateOrderDto): Promise<OrderView> {
    return this.orders.create(principal, body.items);
  }

  /** `GET /orders?limit&offset` → own orders (an admin: all). Scope `orders:read`. */
  @Get()
  @RequireScopes('orders:read')
  list(@CurrentUser() principal: UserPrincipal, @Query() query: PageQueryDto): Promise<Page<OrderView>> {
    return this.orders.list(principal, query.limit, query.offset);
  }

  /** `GET /orders/:id` → the order for its owner or an admin; 404 for anyone else. Scope `orders:read`. */
  @Get(':id')
  @RequireScopes('orders:read')
  get(@CurrentUser() principal: UserPrincipal, @Param('id', parseUuid('id')) id: string): Promise<OrderView> {
    return this.orders.get(principal, id);
  }

  /** `POST /orders/:id/cancel` → 200 cancelled order; 404 as above; 409 if already cancelled. Scope `orders:write`. */
  @Post(':id/cancel')
  @HttpCode(200)
  @RequireScopes('orders:write')
  cancel(@CurrentUser() principal: UserPrincipal, @Param('id', parseUuid('id')) id: string): Promise<OrderView> {
    return this.orders.cancel(principal, id);
  }
}
