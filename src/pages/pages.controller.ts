import { Controller, Get, Param } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { NotFoundError } from '../common/app-error';
import { ParseIdPipe } from '../http/parse-id.pipe';
import { Page, PagesRepository } from './pages.repository';

@ApiTags('pages')
@Controller('api/pages')
export class PagesController {
  constructor(private readonly pages: PagesRepository) {}

  @Get(':id')
  async get(@Param('id', ParseIdPipe) id: number): Promise<Page> {
    const page = await this.pages.findById(id);
    if (!page) throw new NotFoundError('page', id);
    return page;
  }
}
