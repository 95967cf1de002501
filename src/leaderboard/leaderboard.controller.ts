import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
} from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { AppError } from '../common/app-error';
import { BOARD_NAME, MEMBER_NAME, ScoreDto } from './leaderboard.dto';
import { LeaderboardService, RankedEntry } from './leaderboard.service';

function board(name: string): string {
  if (!BOARD_NAME.test(name)) {
    throw new BadRequestException(
      'board must be 1-32 characters: lower-case letters, digits, _ and -, starting with a letter or digit',
    );
  }
  return name;
}

@ApiTags('leaderboard')
@Controller('api/leaderboard')
export class LeaderboardController {
  constructor(private readonly boards: LeaderboardService) {}

  /** Sets a member's score (ZADD). */
  @Post(':board/scores')
  @HttpCode(200)
  setScore(@Param('board') name: string, @Body() dto: ScoreDto): Promise<RankedEntry> {
    return this.boards.set(board(name), dto.member, dto.score);
  }

  /** Adds to a member's score (ZINCRBY); `score` is the increment. */
  @Post(':board/increments')
  @HttpCode(200)
  increment(@Param('board') name: string, @Body() dto: ScoreDto): Promise<RankedEntry> {
    return this.boards.increment(board(name), dto.member, dto.score);
  }

  @Get(':board')
  @ApiQuery({ name: 'top', required: false, description: '1-100, default 10' })
  async top(
    @Param('board') name: string,
    @Query('top') top?: string,
  ): Promise<{ board: string; entries: RankedEntry[] }> {
    const n = top === undefined ? 10 : Number(top);
    if (!/^\d{1,3}$/.test(top ?? '10') || n < 1 || n > 100)
      throw new BadRequestException('top must be an integer from 1 to 100');
    return { board: board(name), entries: await this.boards.top(name, n) };
  }

  @Get(':board/members/:member')
  async member(
    @Param('board') name: string,
    @Param('member') member: string,
  ): Promise<RankedEntry & { board: string }> {
    if (!MEMBER_NAME.test(member))
      throw new BadRequestException('member must be 1-64 characters of letters, digits, _ . @ -');
    const entry = await this.boards.member(board(name), member);
    if (!entry)
      throw new AppError('NOT_FOUND', `member ${member} is not on board ${name}`, {
        board: name,
        member,
      });
    return { board: name, ...entry };
  }
}
