import { ApiProperty } from '@nestjs/swagger';
import { IsNumber, Matches, Max, Min } from 'class-validator';
import { RequiredField } from '../http/validators';

export const BOARD_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
export const MEMBER_NAME = /^[A-Za-z0-9_.@-]{1,64}$/;
export const MAX_SCORE = 1e15;

export class ScoreDto {
  @ApiProperty({ example: 'ada', description: 'letters, digits, _ . @ - (1-64)' })
  @RequiredField(
    Matches(MEMBER_NAME, { message: 'member must be 1-64 characters of letters, digits, _ . @ -' }),
  )
  member: string;

  @ApiProperty({ example: 42 })
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
