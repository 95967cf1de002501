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
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { CacheEvict, Cached } from '../cache/cache.decorators';
import { ParseIdPipe } from '../http/parse-id.pipe';
import { PostDto } from '../posts/posts.dto';
import { PostsCache } from '../posts/posts.cache';
import type { Post as PostEntity } from '../posts/posts.repository';
import { CreateUserDto, UpdateUserDto, UserDto } from './users.dto';
import { User } from './users.repository';
import { UsersService } from './users.service';

const USER_TTL_MS = 3_600_000;

@ApiTags('users')
@Controller('api/users')
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly derived: PostsCache,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiCreatedResponse({ type: UserDto })
  create(@Body() dto: CreateUserDto): Promise<User> {
    return this.users.create(dto);
  }

  /** Cache-aside: `users` cache, key `user:{id}`, one hour. */
  @Get(':id')
  @Cached({ cache: 'users', key: 'user:{id}', ttl: USER_TTL_MS, scope: 'shared' })
  @ApiOkResponse({ type: UserDto })
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
  @ApiOkResponse({ type: UserDto })
  update(@Param('id', ParseIdPipe) id: number, @Body() dto: UpdateUserDto): Promise<User> {
    if (dto.email === undefined && dto.name === undefined) {
      throw new BadRequestException('provide at least one of: email, name');
    }
    return this.users.update(id, dto);
  }

  @Get(':id/posts')
  @ApiOkResponse({ type: PostDto, isArray: true })
  async recentPosts(@Param('id', ParseIdPipe) id: number): Promise<PostEntity[]> {
    await this.users.get(id);
    return this.derived.recent(id);
  }

  @Get(':id/stats')
  async stats(@Param('id', ParseIdPipe) id: number): Promise<{ postCount: number }> {
    await this.users.get(id);
    return this.derived.stats(id);
  }
}
