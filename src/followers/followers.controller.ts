import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { InvalidReferenceError } from '../common';
import { FeedService } from '../feed';
import { ApiIdParam, ApiStandardResponses, ParseIdPipe } from '../http';
import { UsersService } from '../users';
import {
  FollowDto,
  FollowedDto,
  FollowersListDto,
  FollowingDto,
  MutualsDto,
} from './followers.dto';
import { FollowersService } from './followers.service';

const BAD_ID = 'id is not an integer from 1 to 2147483647';
const BAD_IDS = 'An id is not an integer from 1 to 2147483647';
const NO_USER = 'No user with this id';
const REDIS_DOWN = 'Redis is unavailable (followers live only in Redis)';

@ApiTags('followers')
@Controller('api/users')
export class FollowersController {
  constructor(
    private readonly followers: FollowersService,
    private readonly users: UsersService,
    private readonly feed: FeedService,
  ) {}

  @Post(':id/followers')
  @HttpCode(201)
  @ApiIdParam('id', 'the user to follow')
  @ApiStandardResponses({
    summary: 'Follow a user (idempotent)',
    success: { status: 201, description: '`followerId` follows `userId`', type: FollowedDto },
    errors: {
      400: `${BAD_ID}, or followerId equals id (a user cannot follow themselves)`,
      404: NO_USER,
      422: '`followerId` names no existing user',
      503: REDIS_DOWN,
    },
    jsonBody: true,
  })
  async follow(
    @Param('id', ParseIdPipe) id: number,
    @Body() dto: FollowDto,
  ): Promise<{ userId: number; followerId: number; following: true }> {
    if (dto.followerId === id) throw new BadRequestException('a user cannot follow themselves');
    await this.users.requireExists(id);
    if (!(await this.users.exists(dto.followerId)))
      throw new InvalidReferenceError('followerId', dto.followerId);
    // Recorded once per new follow (following again is a no-op, and records nothing).
    if (await this.followers.follow(id, dto.followerId))
      await this.feed.record({ actorId: dto.followerId, action: 'user.followed', targetId: id });
    return { userId: id, followerId: dto.followerId, following: true };
  }

  @Delete(':id/followers/:followerId')
  @HttpCode(204)
  @ApiIdParam('id', 'the followed user')
  @ApiIdParam('followerId', 'the follower', 2)
  @ApiStandardResponses({
    summary: 'Unfollow (idempotent)',
    success: { status: 204, description: '`followerId` no longer follows `id`' },
    errors: { 400: BAD_IDS, 404: NO_USER, 503: REDIS_DOWN },
    jsonBody: 'unused',
  })
  async unfollow(
    @Param('id', ParseIdPipe) id: number,
    @Param('followerId', ParseIdPipe) followerId: number,
  ): Promise<void> {
    await this.users.requireExists(id);
    await this.followers.unfollow(id, followerId);
  }

  @Get(':id/followers')
  @ApiIdParam('id', 'user id')
  @ApiStandardResponses({
    summary: 'A user’s followers',
    success: { status: 200, description: 'Follower ids, ascending', type: FollowersListDto },
    errors: { 400: BAD_ID, 404: NO_USER, 503: REDIS_DOWN },
  })
  async list(
    @Param('id', ParseIdPipe) id: number,
  ): Promise<{ userId: number; followers: number[] }> {
    await this.users.requireExists(id);
    return { userId: id, followers: await this.followers.list(id) };
  }

  @Get(':id/followers/:followerId')
  @ApiIdParam('id', 'the followed user')
  @ApiIdParam('followerId', 'the possible follower', 2)
  @ApiStandardResponses({
    summary: 'Whether `followerId` follows `id`',
    success: { status: 200, description: 'Yes or no', type: FollowingDto },
    errors: { 400: BAD_IDS, 404: NO_USER, 503: REDIS_DOWN },
  })
  async isFollowing(
    @Param('id', ParseIdPipe) id: number,
    @Param('followerId', ParseIdPipe) followerId: number,
  ): Promise<{ following: boolean }> {
    await this.users.requireExists(id);
    return { following: await this.followers.isFollowing(id, followerId) };
  }

  /** Users who follow both `id` and `otherId` (SINTER). */
  @Get(':id/mutuals/:otherId')
  @ApiIdParam('id', 'a user')
  @ApiIdParam('otherId', 'another user', 2)
  @ApiStandardResponses({
    summary: 'Users who follow both `id` and `otherId` (SINTER)',
    success: { status: 200, description: 'Ids of users who follow both', type: MutualsDto },
    errors: { 400: BAD_IDS, 404: 'No user with one of these ids', 503: REDIS_DOWN },
  })
  async mutuals(
    @Param('id', ParseIdPipe) id: number,
    @Param('otherId', ParseIdPipe) otherId: number,
  ): Promise<{ userId: number; otherId: number; mutuals: number[] }> {
    await Promise.all([this.users.requireExists(id), this.users.requireExists(otherId)]);
    return { userId: id, otherId, mutuals: await this.followers.mutual(id, otherId) };
  }
}
