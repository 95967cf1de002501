import { Module } from '@nestjs/common';
import { UsersModule } from '../users';
import { FollowersController } from './followers.controller';
import { FollowersService } from './followers.service';

@Module({
  imports: [UsersModule],
  controllers: [FollowersController],
  providers: [FollowersService],
})
export class FollowersModule {}
