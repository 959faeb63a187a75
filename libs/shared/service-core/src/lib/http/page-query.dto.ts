import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** `?limit=&offset=` of list endpoints: 1..100 items (default 20), from offset ≥ 0. */
export class PageQueryDto {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit = 20;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  offset = 0;
}

/** One page of a list: the items and the total count across pages. */
export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}
