import { ArgumentMetadata, BadRequestException, ValidationPipe } from '@nestjs/common';

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

  /** A DTO body must be a JSON object: say so, instead of per-field messages about a missing or wrong body. */
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && metadata.metatype && this.toValidate(metadata)) {
      if (value === undefined) {
        throw new BadRequestException('Request body is required: send a JSON object');
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new BadRequestException(
          `Request body must be a JSON object, not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}`,
        );
      }
    }
    return super.transform(value, metadata);
  }

  protected override transformPrimitive(value: unknown, _metadata: ArgumentMetadata): unknown {
    return value;
  }
}
