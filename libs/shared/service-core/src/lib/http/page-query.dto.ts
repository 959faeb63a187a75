import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** Largest accepted `offset`: far beyond any real list here, well inside every database's integer range. */
export const MAX_OFFSET = 1_000_000;

/** Query values become numbers only when they are plain decimal digits ("0x10", "1e3", " 5" stay strings and fail). */
const decimal = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : value;

/** `?limit=&offset=` of list endpoints: 1..100 items (default 20), from offset 0..1,000,000. */
export class PageQueryDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 20, description: 'Items per page.' })
  @IsOptional()
  @Transform(decimal)
  @IsInt({ message: 'limit must be a whole number' })
  @Min(1)
  @Max(100)
  limit = 20;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: MAX_OFFSET, default: 0, description: 'Items to skip.' })
  @IsOptional()
  @Transform(decimal)
  @IsInt({ message: 'offset must be a whole number' })
  @Min(0)
  @Max(MAX_OFFSET)
  offset = 0;
}

/** One page of a list: the items and the total count across pages. */
export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}
