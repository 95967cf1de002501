import { ArgumentMetadata, ValidationPipe } from '@nestjs/common';

/**
 * Nest's ValidationPipe (whitelist, reject unknown properties, transform bodies to DTO classes)
 * without its primitive coercion: with `transform: true` it turns the route param "1e3" into
 * 1000 and "abc" into NaN before a param pipe can refuse them. Params and query values stay
 * strings here; dedicated pipes (`ParseIdPipe`) parse them strictly.
 */
export class AppValidationPipe extends ValidationPipe {
  constructor() {
    super({ whitelist: true, forbidNonWhitelisted: true, transform: true, stopAtFirstError: true });
  }

  protected override transformPrimitive(value: unknown, _metadata: ArgumentMetadata): unknown {
    return value;
  }
}
