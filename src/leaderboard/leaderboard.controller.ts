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
import { AppError } from '../common';
import { ApiStandardResponses } from '../http';
import {
  ApiBoardParam,
  ApiMemberParam,
  BOARD_NAME,
  LeaderboardMemberDto,
  LeaderboardTopDto,
  MEMBER_NAME,
  RankedEntryDto,
  ScoreDto,
} from './leaderboard.dto';
import { LeaderboardService, RankedEntry } from './leaderboard.service';

const BAD_BOARD = 'board is not 1-32 characters of a-z 0-9 _ - starting with a letter or digit';
const FULL =
  'A cap is reached: the write would create a board beyond the number of boards allowed, or add a member beyond the members allowed on a board';
const REDIS_DOWN = 'Redis is unavailable (the leaderboard lives only in Redis)';

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
  @ApiBoardParam()
  @ApiStandardResponses({
    summary: 'Set a member’s score (ZADD)',
    success: { status: 200, description: 'The member’s rank and score', type: RankedEntryDto },
    errors: { 400: BAD_BOARD, 409: FULL, 503: REDIS_DOWN },
    jsonBody: true,
  })
  setScore(@Param('board') name: string, @Body() dto: ScoreDto): Promise<RankedEntry> {
    return this.boards.set(board(name), dto.member, dto.score);
  }

  /** Adds to a member's score (ZINCRBY); `score` is the increment. */
  @Post(':board/increments')
  @HttpCode(200)
  @ApiBoardParam()
  @ApiStandardResponses({
    summary: 'Add to a member’s score (ZINCRBY; `score` is the increment)',
    success: { status: 200, description: 'The member’s rank and new score', type: RankedEntryDto },
    errors: { 400: BAD_BOARD, 409: FULL, 503: REDIS_DOWN },
    jsonBody: true,
  })
  increment(@Param('board') name: string, @Body() dto: ScoreDto): Promise<RankedEntry> {
    return this.boards.increment(board(name), dto.member, dto.score);
  }

  @Get(':board')
  @ApiBoardParam()
  @ApiQuery({
    name: 'top',
    required: false,
    description: 'how many entries, highest score first',
    schema: { type: 'integer', minimum: 1, maximum: 100, default: 10, example: 10 },
  })
  @ApiStandardResponses({
    summary: 'The top N of a board, highest score first (empty for an unknown board)',
    success: { status: 200, description: 'The entries with their ranks', type: LeaderboardTopDto },
    errors: { 400: `${BAD_BOARD}, or top is not an integer from 1 to 100`, 503: REDIS_DOWN },
  })
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
  @ApiBoardParam()
  @ApiMemberParam()
  @ApiStandardResponses({
    summary: 'A member’s rank and score',
    success: { status: 200, description: 'Rank and score', type: LeaderboardMemberDto },
    errors: {
      400: `${BAD_BOARD}, or member is not 1-64 characters of letters, digits, _ . @ -`,
      404: 'The member is not on this board',
      503: REDIS_DOWN,
    },
  })
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
