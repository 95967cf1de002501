import { Body, Controller, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { CacheEvict, Cached } from '../cache/cache.decorators';
import { ParseIdPipe } from '../http/parse-id.pipe';
import { WithLock } from '../lock/with-lock.decorator';
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
   * Under the `user:{id}` lock (409 while another update runs); database update first, then the
   * cache entry is evicted and the eviction broadcast to every instance.
   */
  @Patch(':id')
  @WithLock({ key: 'user:{id}', ttl: 10_000 })
  @CacheEvict({ cache: 'users', keys: ['user:{id}'] })
  @ApiOkResponse({ type: UserDto })
  update(@Param('id', ParseIdPipe) id: number, @Body() dto: UpdateUserDto): Promise<User> {
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
