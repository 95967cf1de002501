import { BadRequestException, Controller, Get, Param, Query, Req } from '@nestjs/common';
import { ApiHeader, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ApiIdParam, ApiStandardResponses, HttpContext, ParseIdPipe } from '../http';
import { NotFoundError } from '../common';
import { CounterService } from '../counters';
import { PAGE_VIEWS } from './page-views';
import { PageVisitors } from './page-visitors';
import { PageDto, UniqueVisitorsDto } from './pages.dto';
import { Page, PagesRepository } from './pages.repository';

const VISITOR_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** `YYYY-MM-DD` naming a day that exists (`Date.parse` would roll 2024-02-30 over to March 1). */
function isCalendarDay(day: string): boolean {
  if (!DATE.test(day)) return false;
  const parsed = new Date(`${day}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === day;
}

@ApiTags('pages')
@Controller('api/pages')
export class PagesController {
  constructor(
    private readonly pages: PagesRepository,
    private readonly counters: CounterService,
    private readonly visitors: PageVisitors,
  ) {}

  /**
   * Counts the view in Redis (the worker writes views back to the database) and answers the
   * page with its live `views`: the database value plus increments not yet written. Fails
   * open: with Redis down the page is served with the database value and the view is not counted.
   */
  @Get(':id')
  @ApiIdParam('id', 'page id')
  @ApiHeader({
    name: 'X-Visitor-Id',
    required: false,
    description:
      'Stable anonymous visitor id for unique-visitor counts; when absent or not matching the pattern, the client IP counts instead',
    schema: { type: 'string', pattern: VISITOR_ID.source, example: 'visitor-42' },
  })
  @ApiStandardResponses({
    summary: 'Get a page and count the view',
    success: { status: 200, description: 'The page with its live view count', type: PageDto },
    errors: { 400: 'id is not an integer from 1 to 2147483647', 404: 'No page with this id' },
  })
  async get(@Param('id', ParseIdPipe) id: number, @Req() req: unknown): Promise<Page> {
    const reading = await this.counters.tryHit(PAGE_VIEWS.name, id);
    const found = await this.counters.readLive(
      reading,
      (db) => this.pages.findById(id, db),
      (page) => page.views,
    );
    if (!found) {
      if (reading.pending > 0) await this.counters.tryHit(PAGE_VIEWS.name, id, -1); // no such page: take the count back
      throw new NotFoundError('page', id);
    }
    await this.visitors.record(id, this.visitorOf(req)).catch(() => undefined); // best effort, like the count
    return { ...found.row, views: found.live };
  }

  @Get(':id/unique-visitors')
  @ApiIdParam('id', 'page id')
  @ApiQuery({
    name: 'date',
    required: false,
    description: 'A UTC day that exists, YYYY-MM-DD (default: today)',
    schema: { type: 'string', format: 'date', example: '2024-02-29' },
  })
  @ApiStandardResponses({
    summary: 'Count a page’s unique visitors on a UTC day',
    success: { status: 200, description: 'The estimate', type: UniqueVisitorsDto },
    errors: {
      400: 'id is not an integer from 1 to 2147483647, or date is not an existing day as YYYY-MM-DD',
      404: 'No page with this id',
      503: 'Redis is unavailable',
    },
  })
  async uniqueVisitors(
    @Param('id', ParseIdPipe) id: number,
    @Query('date') date?: string,
  ): Promise<{ pageId: number; date: string; uniqueVisitors: number }> {
    const day = date ?? new Date().toISOString().slice(0, 10);
    if (!isCalendarDay(day)) {
      throw new BadRequestException(
        `date must be a day as YYYY-MM-DD, got "${String(day).slice(0, 40)}"`,
      );
    }
    if (!(await this.pages.findById(id))) throw new NotFoundError('page', id);
    return { pageId: id, date: day, uniqueVisitors: await this.visitors.count(id, day) };
  }

  private visitorOf(req: unknown): string {
    const header = HttpContext.raw(req).headers['x-visitor-id'];
    if (typeof header === 'string' && VISITOR_ID.test(header)) return `v:${header}`;
    return `ip:${(req as { ip?: string }).ip ?? HttpContext.raw(req).socket.remoteAddress ?? 'unknown'}`;
  }
}
