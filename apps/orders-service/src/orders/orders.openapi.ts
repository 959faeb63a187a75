import { applyDecorators } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiProperty } from '@nestjs/swagger';
import { ApiProblemResponse, type Page } from '@jwt-ms/service-core';
import { ORDER_LIMITS, type OrderView } from './order.dto';

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
          'exchange); nothing is written when that fails.',
      }),
      ApiCreatedResponse({ type: OrderSchema, description: 'The order.' }),
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
