import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { ErrorBody } from './all-exceptions.filter';

/**
 * The one error body of the API (see {@link ErrorBody} and AllExceptionsFilter): every 4xx and
 * 5xx the app answers, before or after routing, on both platforms. Documented on every error
 * status of every operation (src/http/api-docs.ts).
 */
export class ErrorDto implements ErrorBody {
  @ApiProperty({ type: 'integer', minimum: 400, maximum: 599, example: 400 })
  statusCode: number;

  @ApiProperty({
    description:
      'The status reason phrase, or a stable name clients may key on (`Resource is being updated`, `Lock lost`)',
    example: 'Bad Request',
  })
  error: string;

  @ApiProperty({
    description: 'What went wrong: one sentence, or one per refused body field',
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    example: ['email is required'],
  })
  message: string | string[];

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'Machine-readable context (the id not found, the refused field, the resource)',
    example: { id: 42 },
  })
  details?: Record<string, unknown>;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    description: 'On 429 only: seconds until a retry can succeed (as the `Retry-After` header)',
    example: 17,
  })
  retryAfter?: number;
}
