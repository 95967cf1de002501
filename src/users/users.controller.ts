import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  Patch,
  Post,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CacheEvict, Cached } from '../cache';
import { FeedService } from '../feed';
import { ApiIdParam, ApiStandardResponses, RESPONSE_HEADERS, ParseIdPipe } from '../http';
import { CreateUserDto, UpdateUserDto, UserDto } from './users.dto';
import { User } from './users.repository';
import { UsersService } from './users.service';

const USER_TTL_MS = 3_600_000;
const BAD_ID = 'id is not an integer from 1 to 2147483647';
const NO_USER = 'No user with this id';

@ApiTags('users')
@Controller('api/users')
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly feed: FeedService,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiStandardResponses({
    summary: 'Create a user',
    success: { status: 201, description: 'The new user', type: UserDto },
    errors: { 409: 'A user with this email already exists (emails are compared lower-case)' },
    jsonBody: true,
  })
  create(@Body() dto: CreateUserDto): Promise<User> {
    return this.users.create(dto);
  }

  /** Cache-aside: `users` cache, key `user:{id}`, one hour. */
  @Get(':id')
  @Cached({ cache: 'users', key: 'user:{id}', ttl: USER_TTL_MS, scope: 'shared' })
  @ApiIdParam('id', 'user id')
  @ApiStandardResponses({
    summary: 'Get a user (cache-aside, one hour)',
    success: {
      status: 200,
      description: 'The user',
      type: UserDto,
      headers: { 'X-Cache': RESPONSE_HEADERS.cache },
    },
    errors: { 400: BAD_ID, 404: NO_USER },
  })
  get(@Param('id', ParseIdPipe) id: number): Promise<User> {
    return this.users.get(id);
  }

  /**
   * Validated first (pipes), then `UsersService.update` runs under the `user:{id}` lock (409 while
   * another update runs); database update first, then the cache entry is evicted and the
   * eviction broadcast to every instance.
   */
  @Patch(':id')
  @CacheEvict({ cache: 'users', keys: ['user:{id}'] })
  @ApiIdParam('id', 'user id')
  @ApiStandardResponses({
    summary: 'Update a user’s email and/or name (under the user’s lock)',
    description:
      'A read-modify-write under a distributed lock on the user; the database is written first, then the cached user is evicted on every instance.',
    success: { status: 200, description: 'The updated user', type: UserDto },
    errors: {
      400: `${BAD_ID}, or neither email nor name is given`,
      404: NO_USER,
      409: 'Another update of this user is running (`error`: `Resource is being updated`), or another user has this email',
      503: 'Redis is unavailable, so the lock cannot be taken (nothing was changed), or the lock was lost during the update (`error`: `Lock lost`)',
    },
    jsonBody: true,
  })
  async update(@Param('id', ParseIdPipe) id: number, @Body() dto: UpdateUserDto): Promise<User> {
    if (dto.email === undefined && dto.name === undefined) {
      throw new BadRequestException('provide at least one of: email, name');
    }
    const user = await this.users.update(id, dto);
    // The change is committed: the activity is recorded after it (never fails the request).
    await this.feed.record({ actorId: id, action: 'profile.updated', targetId: id });
    return user;
  }
}
