import { Module } from '@nestjs/common';
import { FollowersService } from './followers.service';

/**
 * The follower graph alone (`FollowersService`, no controllers): for processes that read who
 * follows whom without serving the followers endpoints (the feed's fan-out in the worker role).
 */
@Module({ providers: [FollowersService], exports: [FollowersService] })
export class FollowersGraphModule {}
