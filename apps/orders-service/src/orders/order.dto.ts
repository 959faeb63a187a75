import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  IsObject,
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
