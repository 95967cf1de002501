import { ApiProperty } from '@nestjs/swagger';

const COUNT = { type: 'integer', minimum: 0 } as const;

export class DailyReportDto {
  @ApiProperty({ format: 'date', example: '2024-02-29', description: 'the UTC day' })
  date: string;

  @ApiProperty({ ...COUNT, example: 3 }) users: number;
  @ApiProperty({ ...COUNT, example: 12 }) posts: number;
  @ApiProperty({ ...COUNT, example: 3 }) pages: number;
  @ApiProperty({ format: 'date-time' }) generatedAt: string;

  @ApiProperty({
    type: 'integer',
    minimum: 1,
    nullable: true,
    example: 17,
    description: 'fencing token of the lock the report was generated under',
  })
  fencingToken: number | null;
}
