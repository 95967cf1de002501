import { Module } from '@nestjs/common';
import { UsersModule } from '../users';
import { FollowersController } from './followers.controller';
import { FollowersGraphModule } from './followers-graph.module';

@Module({
  imports: [UsersModule, FollowersGraphModule],
  controllers: [FollowersController],
})
export class FollowersModule {}
