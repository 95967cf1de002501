import { Controller, HttpCode, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ApiStandardResponses } from '../http';
import { WithLock } from '../lock';
import { DailyReportDto } from './reports.dto';
import { DailyReport, ReportsService } from './reports.service';

@ApiTags('reports')
@Controller('api/reports')
export class ReportsController {
  constructor(private readonly reports: ReportsService) {}

  /** Why locks exist: one generation at a time across every instance; concurrent callers get 409. */
  @Post('daily')
  @HttpCode(200)
  @WithLock({ key: 'report:daily', ttl: 5_000 })
  @ApiStandardResponses({
    summary: 'Generate the daily report (one at a time across every instance; takes ≥ 1 s)',
    success: { status: 200, description: 'The report', type: DailyReportDto },
    errors: {
      409: 'A generation is already running (`error`: `Resource is being updated`)',
      503: 'Redis is unavailable, so the lock cannot be taken, or the lock was lost while generating (`error`: `Lock lost`)',
    },
    jsonBody: 'unused',
  })
  daily(): Promise<DailyReport> {
    return this.reports.daily();
  }
}
