import { ApiParam, ApiProperty } from '@nestjs/swagger';
import { IsNumber, Matches, Max, Min } from 'class-validator';
import { RequiredField } from '../http';

export const BOARD_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
export const MEMBER_NAME = /^[A-Za-z0-9_.@-]{1,64}$/;
export const MAX_SCORE = 1e15;

const MEMBER = {
  type: 'string',
  pattern: MEMBER_NAME.source,
  minLength: 1,
  maxLength: 64,
  example: 'ada',
  description: 'letters, digits, _ . @ - (1-64)',
} as const;

/** The `:board` path parameter. */
export const ApiBoardParam = (): MethodDecorator =>
  ApiParam({
    name: 'board',
    description: 'board name: 1-32 of a-z 0-9 _ -, starting with a letter or digit',
    schema: {
      type: 'string',
      pattern: BOARD_NAME.source,
      minLength: 1,
      maxLength: 32,
      example: 'weekly',
    },
  });

/** The `:member` path parameter. */
export const ApiMemberParam = (): MethodDecorator =>
  ApiParam({
    name: 'member',
    description: MEMBER.description,
    schema: {
      type: MEMBER.type,
      pattern: MEMBER.pattern,
      minLength: 1,
      maxLength: 64,
      example: MEMBER.example,
    },
  });

export class ScoreDto {
  @ApiProperty(MEMBER)
  @RequiredField(
    Matches(MEMBER_NAME, { message: 'member must be 1-64 characters of letters, digits, _ . @ -' }),
  )
  member: string;

  @ApiProperty({
    example: 42,
    minimum: -MAX_SCORE,
    maximum: MAX_SCORE,
    description: 'a finite number (the score, or the increment)',
  })
  @RequiredField(
    IsNumber(
      { allowNaN: false, allowInfinity: false },
      { message: 'score must be a finite number' },
    ),
    Min(-MAX_SCORE, { message: `score must be between -${MAX_SCORE} and ${MAX_SCORE}` }),
    Max(MAX_SCORE, { message: `score must be between -${MAX_SCORE} and ${MAX_SCORE}` }),
  )
  score: number;
}

export class RankedEntryDto {
  @ApiProperty({ type: 'integer', minimum: 1, example: 1, description: '1 = highest score' })
  rank: number;

  @ApiProperty(MEMBER) member: string;
  @ApiProperty({ example: 42 }) score: number;
}

export class LeaderboardTopDto {
  @ApiProperty({ example: 'weekly' }) board: string;
  @ApiProperty({ type: [RankedEntryDto], description: 'highest score first' })
  entries: RankedEntryDto[];
}

export class LeaderboardMemberDto extends RankedEntryDto {
  @ApiProperty({ example: 'weekly' }) board: string;
}
