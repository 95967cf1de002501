import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ApiIdProperty,
  IsEmailAddress,
  IsPassword,
  IsText,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  MAX_EMAIL_LENGTH,
  OptionalField,
  RequiredField,
} from '../http';

const NAME = { min: 1, max: 100 };
const EMAIL = {
  format: 'email',
  minLength: 3,
  maxLength: MAX_EMAIL_LENGTH,
  description:
    'an ASCII e-mail address (an internationalised domain in its xn-- form); stored lower-case',
};

export class CreateUserDto {
  @ApiProperty({ example: 'linus@example.com', ...EMAIL })
  @RequiredField(IsEmailAddress())
  email: string;

  @ApiProperty({ example: 'Linus Torvalds', minLength: NAME.min, maxLength: NAME.max })
  @RequiredField(IsText(NAME))
  name: string;

  @ApiProperty({
    example: 'correct horse battery staple',
    minLength: MIN_PASSWORD_LENGTH,
    maxLength: MAX_PASSWORD_LENGTH,
    writeOnly: true,
    format: 'password',
    description: 'stored as an argon2id hash; never returned',
  })
  @RequiredField(IsPassword())
  password: string;
}

export class UpdateUserDto {
  @ApiPropertyOptional({ example: 'linus@example.org', ...EMAIL })
  @IsEmailAddress()
  @OptionalField()
  email?: string;

  @ApiPropertyOptional({ example: 'Linus B. Torvalds', minLength: NAME.min, maxLength: NAME.max })
  @IsText(NAME)
  @OptionalField()
  name?: string;
}

export class UserDto {
  @ApiIdProperty({ example: 1 }) id: number;
  @ApiProperty({ example: 'ada@example.com', format: 'email', description: 'stored lower-case' })
  email: string;
  @ApiProperty({ example: 'Ada Lovelace' }) name: string;
}
