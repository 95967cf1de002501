import { ApiProperty } from '@nestjs/swagger';
import { ApiIdProperty, ID_SCHEMA, IsId, RequiredField } from '../http';

export class FollowDto {
  @ApiIdProperty({ example: 2, description: 'the user who follows: an existing user, not `id`' })
  @RequiredField(IsId())
  followerId: number;
}

export class FollowedDto {
  @ApiIdProperty({ example: 1 }) userId: number;
  @ApiIdProperty({ example: 2 }) followerId: number;
  @ApiProperty({ enum: [true], example: true }) following: true;
}

export class FollowersListDto {
  @ApiIdProperty({ example: 1 }) userId: number;

  @ApiProperty({
    type: 'array',
    items: ID_SCHEMA,
    example: [2, 3],
    description: 'follower ids, ascending',
  })
  followers: number[];
}

export class FollowingDto {
  @ApiProperty({ example: true }) following: boolean;
}

export class MutualsDto {
  @ApiIdProperty({ example: 1 }) userId: number;
  @ApiIdProperty({ example: 2 }) otherId: number;

  @ApiProperty({
    type: 'array',
    items: ID_SCHEMA,
    example: [3],
    description: 'ids of the users who follow both',
  })
  mutuals: number[];
}
