import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';

export const MAX_ID = 2_147_483_647;

/**
 * Route ids are positive integers that fit PostgreSQL `integer`. Anything else is a 400 that
 * says so (`/api/users/abc`, `/api/users/0`, `/api/users/1e3`, `/api/users/99999999999`).
 *
 * @example
 * @Get(':id') get(@Param('id', ParseIdPipe) id: number) {}
 */
@Injectable()
export class ParseIdPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    if (!/^[1-9]\d{0,9}$/.test(value) || Number(value) > MAX_ID) {
      throw new BadRequestException(
        `id must be a positive integer (1-${MAX_ID}), got "${String(value).slice(0, 40)}"`,
      );
    }
    return Number(value);
  }
}
