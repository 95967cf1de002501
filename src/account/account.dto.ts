import { ApiProperty } from '@nestjs/swagger';
import { IsEmailAddress, IsPassword, IsText, MAX_EMAIL_LENGTH, RequiredField } from '../http';

export class LoginDto {
  @ApiProperty({ example: 'ada@example.com', format: 'email', maxLength: MAX_EMAIL_LENGTH })
  @RequiredField(IsEmailAddress())
  email: string;

  @ApiProperty({
    example: 'redis-patterns-dev',
    format: 'password',
    minLength: 8,
    maxLength: 128,
    writeOnly: true,
  })
  @RequiredField(IsPassword())
  password: string;
}

export class RefreshDto {
  @ApiProperty({
    description: 'The refresh token of the last pair (`<user id>.<family>.<secret>`)',
    minLength: 1,
    maxLength: 200,
    example: '1.AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  })
  @RequiredField(IsText({ min: 1, max: 200 }))
  refreshToken: string;
}

export class MeDto {
  @ApiProperty({ example: 1 }) userId: number;
  @ApiProperty({ example: 'ada@example.com' }) email: string;
  @ApiProperty({ example: ['admin'], type: [String] }) roles: string[];
  @ApiProperty({ enum: ['session', 'token'], example: 'session' }) via: 'session' | 'token';
}

export class TokenPairDto {
  @ApiProperty({ description: 'JWT (HS256), send as `Authorization: Bearer <token>`' })
  accessToken: string;
  @ApiProperty({ description: 'Opaque; single use: each refresh returns a new one' })
  refreshToken: string;
  @ApiProperty({ enum: ['Bearer'] }) tokenType: 'Bearer';
  @ApiProperty({ description: 'Access token lifetime, seconds', example: 900 }) expiresIn: number;
}

/** The shape of a session's public id (SHA-256, base64url), for examples. */
export const SESSION_ID_EXAMPLE = 'q0vBz8WqJ3Yk2nHc5XtR7mLpA1sDfGhJkL9eUiOyTwE';

export class SessionDto {
  @ApiProperty({
    description: 'The session’s public id (a hash; never the cookie value)',
    pattern: '^[A-Za-z0-9_-]{43}$',
    example: SESSION_ID_EXAMPLE,
  })
  id: string;
  @ApiProperty({ type: String, format: 'date-time' }) createdAt: string;
  @ApiProperty({ type: String, format: 'date-time' }) lastSeenAt: string;
  @ApiProperty({ type: String, format: 'date-time' }) expiresAt: string;
  @ApiProperty({ required: false, nullable: true, type: String }) userAgent: string | null;
  @ApiProperty({ required: false, nullable: true, type: String }) ip: string | null;
  @ApiProperty({ description: 'The session of this request' }) current: boolean;
}

export class RevokedDto {
  @ApiProperty({ example: 2 }) revoked: number;
}
