import { Module } from '@nestjs/common';
import { PagesController } from './pages.controller';
import { PagesRepository } from './pages.repository';
import { PageVisitors } from './page-visitors';

@Module({
  controllers: [PagesController],
  providers: [PagesRepository, PageVisitors],
  exports: [PagesRepository],
})
export class PagesModule {}
