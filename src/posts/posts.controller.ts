import { Body, Controller, Get, HttpCode, Param, Post as HttpPost } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { FeedService } from '../feed';
import { ApiIdParam, ApiStandardResponses, ParseIdPipe } from '../http';
import { UsersService } from '../users';
import { CreatePostDto, PostDto, UserStatsDto } from './posts.dto';
import { Post, PostsRepository } from './posts.repository';
import { RecentPostsCache } from './recent-posts.cache';

const BAD_ID = 'id is not an integer from 1 to 2147483647';
const NO_USER = 'No user with this id';

/** Posts: created in the database, then written through to the author's recent list and count. */
@ApiTags('posts')
@Controller('api')
export class PostsController {
  constructor(
    private readonly posts: PostsRepository,
    private readonly recentPosts: RecentPostsCache,
    private readonly users: UsersService,
    private readonly feed: FeedService,
  ) {}

  @HttpPost('posts')
  @HttpCode(201)
  @ApiStandardResponses({
    summary: 'Create a post (write-through to the author’s recent list and post count)',
    success: { status: 201, description: 'The new post', type: PostDto },
    errors: { 422: '`userId` names no existing user' },
    jsonBody: true,
  })
  async create(@Body() dto: CreatePostDto): Promise<Post> {
    const post = await this.posts.create(dto); // database first …
    await this.recentPosts.recordCreated(post); // … then write-through to the derived Redis structures
    await this.feed.record({ actorId: post.userId, action: 'post.created', targetId: post.id });
    return post;
  }

  @Get('users/:id/posts')
  @ApiIdParam('id', 'user id')
  @ApiStandardResponses({
    summary:
      'The user’s 50 most recent posts, newest first (from Redis, rebuilt from the database)',
    success: { status: 200, description: 'Posts, newest first', type: [PostDto] },
    errors: { 400: BAD_ID, 404: NO_USER },
  })
  async recentOfUser(@Param('id', ParseIdPipe) id: number): Promise<Post[]> {
    await this.users.requireExists(id);
    return this.recentPosts.recent(id);
  }

  @Get('users/:id/stats')
  @ApiIdParam('id', 'user id')
  @ApiStandardResponses({
    summary: 'The user’s post count (from Redis, rebuilt from the database)',
    success: { status: 200, description: 'Counts', type: UserStatsDto },
    errors: { 400: BAD_ID, 404: NO_USER },
  })
  async statsOfUser(@Param('id', ParseIdPipe) id: number): Promise<{ postCount: number }> {
    await this.users.requireExists(id);
    return this.recentPosts.stats(id);
  }
}
