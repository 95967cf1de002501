import { ApiProperty } from '@nestjs/swagger';
import { ApiIdProperty } from '../http';

export class PageDto {
  @ApiIdProperty({ example: 1 }) id: number;
  @ApiProperty({ example: 'home' }) slug: string;
  @ApiProperty({ example: 'Home' }) title: string;
  @ApiProperty({ example: 'Welcome.' }) body: string;

  @ApiProperty({
    type: 'integer',
    minimum: 0,
    example: 1042,
    description:
      'live view count, this view included: the database value plus increments not yet written back',
  })
  views: number;
}

export class UniqueVisitorsDto {
  @ApiIdProperty({ example: 1 }) pageId: number;
  @ApiProperty({ format: 'date', example: '2024-02-29', description: 'the UTC day' })
  date: string;

  @ApiProperty({
    type: 'integer',
    minimum: 0,
    example: 12,
    description: 'distinct visitors that day (HyperLogLog: about 0.81 % standard error)',
  })
  uniqueVisitors: number;
}
