import { PostsCache } from './posts.cache';
import { Module } from '@nestjs/common';
import { PostsController } from './posts.controller';
import { PostsRepository } from './posts.repository';

@Module({
  controllers: [PostsController],
  providers: [PostsRepository, PostsCache],
  exports: [PostsRepository, PostsCache],
})
export class PostsModule {}
