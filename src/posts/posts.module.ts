import { Module } from '@nestjs/common';
import { UsersModule } from '../users';
import { PostsController } from './posts.controller';
import { PostsRepository } from './posts.repository';
import { RecentPostsCache } from './recent-posts.cache';

@Module({
  imports: [UsersModule],
  controllers: [PostsController],
  providers: [PostsRepository, RecentPostsCache],
  exports: [PostsRepository, RecentPostsCache],
})
export class PostsModule {}
