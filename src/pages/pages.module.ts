import { Module } from '@nestjs/common';
import { PagesController } from './pages.controller';
import { PagesRepository } from './pages.repository';

@Module({
  controllers: [PagesController],
  providers: [PagesRepository],
  exports: [PagesRepository],
})
export class PagesModule {}
