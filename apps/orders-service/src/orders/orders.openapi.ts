import { applyDecorators } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProperty,
  ApiPropertyOptional,
} from '@nestjs/swagger';
import type { ExchangedTokenView } from '@jwt-ms/auth-jwt';
import { ApiProblemResponse, type Page } from '@jwt-ms/service-core';
import { ORDER_LIMITS, type OrderView, type PlacedOrderView } from './order.dto';

/** One line of {@link OrderView} for the API document. */
export class OrderLineSchema {
  @ApiProperty({ example: 'BOOK-42' })
  sku!: string;

  @ApiProperty({ type: 'integer', minimum: 1, maximum: ORDER_LIMITS.maxQuantity, example: 2 })
  quantity!: number;

  @ApiProperty({ type: 'integer', minimum: 0, maximum: ORDER_LIMITS.maxUnitPriceCents, example: 1250 })
  unitPriceCents!: number;
}

/** {@link OrderView} for the API document (`implements` keeps the two in step). */
export class OrderSchema implements OrderView {
  @ApiProperty({ format: 'uuid', example: '0b7e3c44-5a1f-4f5e-8c2d-9a6b1e2f3c4d' })
  id!: string;

  @ApiProperty({
    format: 'uuid',
    description: "The customer's account id.",
    example: '6f1c1a52-8d0e-4a4b-9c1e-3b5f2a7d9e10',
  })
  ownerId!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    description: "The customer's display name when the order was placed (from users-service).",
    example: 'Ada Lovelace',
  })
  customerName!: string | null;

  @ApiProperty({ enum: ['placed', 'cancelled'], example: 'placed' })
  status!: 'placed' | 'cancelled';

  @ApiProperty({ type: 'integer', description: 'Sum of the lines, in integer cents.', example: 2500 })
  totalCents!: number;

  @ApiProperty({ type: [OrderLineSchema] })
  items!: OrderLineSchema[];

  @ApiProperty({ format: 'date-time', example: '2026-12-01T09:30:00.000Z' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time', example: '2026-12-01T09:30:00.000Z' })
  updatedAt!: string;
}

/** The example of an exchanged token's protected header (RFC 9068 §2.1). */
const EXCHANGE_HEADER_EXAMPLE = { alg: 'ES256', kid: 'k-2026-12-01', typ: 'at+jwt' };
/** The example of an exchanged token's claims: the caller's `sub`, `aud` users-service, `act` orders-service. */
const EXCHANGE_CLAIMS_EXAMPLE = {
  client_id: 'orders-service',
  scope: 'profile:read',
  roles: [],
  sid: '2c9a1f0e-7b3d-4e58-9a61-0f4d2b8c7e15',
  auth_time: 1764581100,
  email: 'ada@example.com',
  act: { sub: 'orders-service' },
  iss: 'http://127.0.0.1:3000',
  sub: '6f1c1a52-8d0e-4a4b-9c1e-3b5f2a7d9e10',
  aud: 'users-service',
  iat: 1764581400,
  exp: 1764581700,
  jti: '9d3e5b7a-1c2f-4a6b-8e0d-5f7a9b1c3d2e',
};

/** {@link ExchangedTokenView} for the API document. */
export class ExchangedTokenSchema implements ExchangedTokenView {
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description:
      'The JOSE protected header (RFC 7515 §4); null if the issuer answered a token that is not a compact JWS.',
    example: EXCHANGE_HEADER_EXAMPLE,
  })
  header!: Record<string, unknown> | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    nullable: true,
    description:
      "The JWT claims (RFC 7519 §4), times in seconds since the epoch: `sub` is the caller's, `aud` the service " +
      'called, `act.sub` orders-service (RFC 8693 §4.1), `scope` the narrowed scope. Null as `header`.',
    example: EXCHANGE_CLAIMS_EXAMPLE,
  })
  claims!: Record<string, unknown> | null;

  @ApiProperty({ description: 'The RFC 8693 `audience` orders-service asked for.', example: 'users-service' })
  audience!: string;

  @ApiProperty({ description: 'The RFC 8693 `scope` orders-service asked for.', example: 'profile:read' })
  scope!: string;
}

/** {@link PlacedOrderView} for the API document: the order, and `exchange` with `?explain=exchange`. */
export class PlacedOrderSchema extends OrderSchema implements PlacedOrderView {
  @ApiPropertyOptional({
    type: ExchangedTokenSchema,
    nullable: true,
    description:
      'Only with `?explain=exchange`: the token orders-service exchanged at the issuer for the users-service call ' +
      'on your behalf (RFC 8693), decoded, whether just exchanged or reused from its cache; never the token or ' +
      'its signature. Null when no exchange was made (`CUSTOMER_NAMES=off`).',
  })
  exchange?: ExchangedTokenSchema | null;
}

const ORDER_EXAMPLE: OrderView = {
  id: '0b7e3c44-5a1f-4f5e-8c2d-9a6b1e2f3c4d',
  ownerId: '6f1c1a52-8d0e-4a4b-9c1e-3b5f2a7d9e10',
  customerName: 'Ada Lovelace',
  status: 'placed',
  totalCents: 2500,
  items: [{ sku: 'BOOK-42', quantity: 2, unitPriceCents: 1250 }],
  createdAt: '2026-12-01T09:30:00.000Z',
  updatedAt: '2026-12-01T09:30:00.000Z',
};

/** `Page<OrderView>` for the API document. */
export class OrderPageSchema implements Page<OrderView> {
  @ApiProperty({ type: [OrderSchema] })
  items!: OrderSchema[];

  @ApiProperty({ example: 1 })
  total!: number;

  @ApiProperty({ example: 20 })
  limit!: number;

  @ApiProperty({ example: 0 })
  offset!: number;
}

const orderId = ApiParam({ name: 'id', format: 'uuid', description: "The order's id." });
const notFound = ApiProblemResponse(404, ['not_found'], "No such order, or not the caller's.");

/** The documentation of each route of `OrdersController`. */
export const OrdersApi = {
  create: () =>
    applyDecorators(
      ApiOperation({
        summary: 'Places an order',
        description:
          "Stamped with the customer's display name, read from users-service on the caller's behalf (RFC 8693 token " +
          'exchange); nothing is written when that fails. With `?explain=exchange`, the answer also shows that ' +
          'exchanged token decoded (`exchange`: header and claims, never the token).',
      }),
      ApiCreatedResponse({
        type: PlacedOrderSchema,
        description: 'The order; with `?explain=exchange`, also `exchange`.',
        examples: {
          order: { summary: 'The order', value: ORDER_EXAMPLE },
          explained: {
            summary: 'With ?explain=exchange',
            value: {
              ...ORDER_EXAMPLE,
              exchange: {
                header: EXCHANGE_HEADER_EXAMPLE,
                claims: EXCHANGE_CLAIMS_EXAMPLE,
                audience: 'users-service',
                scope: 'profile:read',
              },
            },
          },
        },
      }),
      ApiProblemResponse(
        503,
        ['dependency_unavailable'],
        'users-service or the issuer did not answer in time, or the token could not be checked.',
      ),
    ),
  list: () =>
    applyDecorators(
      ApiOperation({ summary: "The caller's orders (an admin: all), a page at a time" }),
      ApiOkResponse({ type: OrderPageSchema }),
    ),
  get: () =>
    applyDecorators(
      ApiOperation({ summary: 'One order', description: 'For its owner or an admin; 404 for anyone else.' }),
      orderId,
      ApiOkResponse({ type: OrderSchema }),
      notFound,
    ),
  cancel: () =>
    applyDecorators(
      ApiOperation({ summary: 'Cancels an order' }),
      orderId,
      ApiOkResponse({ type: OrderSchema, description: 'The cancelled order.' }),
      notFound,
      ApiProblemResponse(409, ['conflict'], 'The order is already cancelled.'),
    ),
};
