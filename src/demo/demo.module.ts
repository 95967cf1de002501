import { Module } from '@nestjs/common';
import { DemoController } from './demo.controller';

/** The demo page at `/` (API role): see {@link DemoController}. */
@Module({ controllers: [DemoController] })
export class DemoModule {}
