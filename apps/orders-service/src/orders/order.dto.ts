import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IgnoreUnknownProperties } from '@jwt-ms/service-core';
import type { ExchangedTokenView } from '@jwt-ms/auth-jwt';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';

/** Bounds that keep every total within a 32-bit integer of cents: 20 × 100 × 1,000,000 < 2^31. */
export const ORDER_LIMITS = { maxItems: 20, maxQuantity: 100, maxUnitPriceCents: 1_000_000 } as const;

/** One line of `POST /orders`. */
export class OrderItemDto {
  @ApiProperty({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', example: 'BOOK-42' })
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { message: 'sku must be 1-64 letters, digits, ".", "_" or "-"' })
  sku!: string;

  @ApiProperty({ type: 'integer', minimum: 1, maximum: ORDER_LIMITS.maxQuantity, example: 2 })
  @IsInt({ message: 'quantity must be a whole number' })
  @Min(1)
  @Max(ORDER_LIMITS.maxQuantity)
  quantity!: number;

  @ApiProperty({ type: 'integer', minimum: 0, maximum: ORDER_LIMITS.maxUnitPriceCents, example: 1250 })
  @IsInt({ message: 'unitPriceCents must be a whole number of cents' })
  @Min(0)
  @Max(ORDER_LIMITS.maxUnitPriceCents)
  unitPriceCents!: number;
}

/** `POST /orders` body. */
export class CreateOrderDto {
  @ApiProperty({ type: [OrderItemDto], minItems: 1, maxItems: ORDER_LIMITS.maxItems })
  @IsArray()
  @ArrayMinSize(1, { message: 'items must hold at least one item' })
  @ArrayMaxSize(ORDER_LIMITS.maxItems)
  @IsObject({ each: true, message: 'each item must be an object {sku, quantity, unitPriceCents}' })
  @ValidateNested({ each: true })
  @Type(() => OrderItemDto)
  items!: OrderItemDto[];
}

/** The one value of `POST /orders?explain=`: show the exchanged token the users call was made with. */
export const EXPLAIN_EXCHANGE = 'exchange';

/**
 * `POST /orders` query. `explain=exchange` asks for the 201 answer to carry `exchange`, the token exchanged
 * on the caller's behalf (RFC 8693), decoded. A query parameter rather than a header: it names a variant of
 * the answer in the request's own URI (as `expand` or `dryRun` do in well-known APIs), so it is validated
 * like any query and stated in the OpenAPI document as an enum, a browser sends it without a new
 * CORS-allowed request header, and it carries nothing secret where a proxy or a trace records URLs. A custom
 * header would be an `X-` name (RFC 6648 deprecates them) or a made-up one; `Prefer` (RFC 7240) lets a
 * server ignore a preference silently, which a console that must show the exchange could not tell from a
 * missing one. Other parameters stay ignored, as before; another `explain` value, or a repeated one, is a 400.
 */
@IgnoreUnknownProperties()
export class CreateOrderQueryDto {
  @ApiPropertyOptional({
    enum: [EXPLAIN_EXCHANGE],
    description:
      '`exchange`: the answer also carries `exchange`, the token orders-service exchanged for the users-service ' +
      'call on your behalf (RFC 8693), decoded: its protected header and claims, never the token or its ' +
      'signature. Refused (400) where the deployment turned it off (`EXPLAIN_EXCHANGE=off`, the production default).',
  })
  @IsOptional()
  @IsIn([EXPLAIN_EXCHANGE], { message: `explain must be "${EXPLAIN_EXCHANGE}"` })
  explain?: typeof EXPLAIN_EXCHANGE;
}

/** An order as the API shows it. Money in integer cents; times ISO 8601. */
export interface OrderView {
  id: string;
  ownerId: string;
  /** The customer's display name when it was placed (from users-service); null when they had none. */
  customerName: string | null;
  status: 'placed' | 'cancelled';
  totalCents: number;
  items: Array<{ sku: string; quantity: number; unitPriceCents: number }>;
  createdAt: string;
  updatedAt: string;
}

/**
 * The 201 answer of `POST /orders`: the order, plus `exchange` only with `?explain=exchange` (the exchanged
 * token decoded, null when no exchange was made because `CUSTOMER_NAMES=off`).
 */
export type PlacedOrderView = OrderView & { exchange?: ExchangedTokenView | null };
