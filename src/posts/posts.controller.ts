import { Body, Controller, HttpCode, Post as HttpPost } from '@nestjs/common';
import { ApiCreatedResponse, ApiTags } from '@nestjs/swagger';
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
  @ApiCreatedResponse({ type: PostDto })
  async create(@Body() dto: CreatePostDto): Promise<Post> {
    const post = await this.posts.create(dto); // database first …
    await this.derived.written(post); // … then write-through to the derived Redis structures
    return post;
  }
}
