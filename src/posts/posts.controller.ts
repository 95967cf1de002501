import { Body, Controller, HttpCode, Post as HttpPost } from '@nestjs/common';
import { ApiCreatedResponse, ApiTags } from '@nestjs/swagger';
import { CreatePostDto, PostDto } from './posts.dto';
import { Post, PostsRepository } from './posts.repository';

@ApiTags('posts')
@Controller('api/posts')
export class PostsController {
  constructor(private readonly posts: PostsRepository) {}

  @HttpPost()
  @HttpCode(201)
  @ApiCreatedResponse({ type: PostDto })
  create(@Body() dto: CreatePostDto): Promise<Post> {
    return this.posts.create(dto);
  }
}
