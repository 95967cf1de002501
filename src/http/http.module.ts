import { Global, Module } from '@nestjs/common';
import { HttpContext } from './http-context';

/** The platform seam ({@link HttpContext}), available to every module. */
@Global()
@Module({ providers: [HttpContext], exports: [HttpContext] })
export class HttpModule {}
