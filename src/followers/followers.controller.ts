import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
} from '@nestjs/common';
import { ApiProperty, ApiTags } from '@nestjs/swagger';
import { InvalidReferenceError, NotFoundError } from '../common/app-error';
import { ParseIdPipe } from '../http/parse-id.pipe';
import { IsId, RequiredField } from '../http/validators';
import { UsersRepository } from '../users/users.repository';
import { FollowersService } from './followers.service';

export class FollowDto {
  @ApiProperty({ example: 2 })
  @RequiredField(IsId())
  followerId: number;
}

@ApiTags('followers')
@Controller('api/users')
export class FollowersController {
  constructor(
    private readonly followers: FollowersService,
    private readonly users: UsersRepository,
  ) {}

  @Post(':id/followers')
  @HttpCode(201)
  async follow(
    @Param('id', ParseIdPipe) id: number,
    @Body() dto: FollowDto,
  ): Promise<{ userId: number; followerId: number; following: true }> {
    if (dto.followerId === id) throw new BadRequestException('a user cannot follow themselves');
    await this.requireUser(id);
    if (!(await this.users.exists(dto.followerId)))
      throw new InvalidReferenceError('followerId', dto.followerId);
    await this.followers.follow(id, dto.followerId);
    return { userId: id, followerId: dto.followerId, following: true };
  }

  @Delete(':id/followers/:followerId')
  @HttpCode(204)
  async unfollow(
    @Param('id', ParseIdPipe) id: number,
    @Param('followerId', ParseIdPipe) followerId: number,
  ): Promise<void> {
    await this.requireUser(id);
    await this.followers.unfollow(id, followerId);
  }

  @Get(':id/followers')
  async list(
    @Param('id', ParseIdPipe) id: number,
  ): Promise<{ userId: number; followers: number[] }> {
    await this.requireUser(id);
    return { userId: id, followers: await this.followers.list(id) };
  }

  @Get(':id/followers/:followerId')
  async isFollowing(
    @Param('id', ParseIdPipe) id: number,
    @Param('followerId', ParseIdPipe) followerId: number,
  ): Promise<{ following: boolean }> {
    await this.requireUser(id);
    return { following: await this.followers.isFollowing(id, followerId) };
  }

  /** Users who follow both `id` and `otherId` (SINTER). */
  @Get(':id/mutuals/:otherId')
  async mutuals(
    @Param('id', ParseIdPipe) id: number,
    @Param('otherId', ParseIdPipe) otherId: number,
  ): Promise<{ userId: number; otherId: number; mutuals: number[] }> {
    await Promise.all([this.requireUser(id), this.requireUser(otherId)]);
    return { userId: id, otherId, mutuals: await this.followers.mutual(id, otherId) };
  }

  private async requireUser(id: number): Promise<void> {
    if (!(await this.users.exists(id))) throw new NotFoundError('user', id);
  }
}
