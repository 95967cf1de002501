import { Body, Controller, HttpCode, Post as HttpPost } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ApiStandardResponses } from '../http';
import { CreatePostDto, PostDto } from './posts.dto';
import { PostsCache } from './posts.cache';
import { Post, PostsRepository } from './posts.repository';

@ApiTags('posts')
@Controller('api/posts')
export class PostsController {
  constructor(
    private readonly posts: PostsRepository,
    private readonly derived: PostsCache,
  ) {}

  @HttpPost()
  @HttpCode(201)
  @ApiStandardResponses({
    summary: 'Create a post (write-through to the author’s recent list and post count)',
    success: { status: 201, description: 'The new post', type: PostDto },
    errors: { 422: '`userId` names no existing user' },
    jsonBody: true,
  })
  async create(@Body() dto: CreatePostDto): Promise<Post> {
    const post = await this.posts.create(dto); // database first …
    await this.derived.written(post); // … then write-through to the derived Redis structures
    return post;
  }
}
