import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiConflictResponse, ApiTags } from '@nestjs/swagger';
import { WithLock } from '../lock/with-lock.decorator';
import { DailyReport, ReportsService } from './reports.service';

@ApiTags('reports')
@Controller('api/reports')
export class ReportsController {
  constructor(private readonly reports: ReportsService) {}

  /** Why locks exist: one generation at a time across every instance; concurrent callers get 409. */
  @Post('daily')
  @HttpCode(200)
  @WithLock({ key: 'report:daily', ttl: 5_000 })
  @ApiConflictResponse({ description: 'a generation is already running' })
  daily(): Promise<DailyReport> {
    return this.reports.daily();
  }
}
