import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR, DiscoveryModule } from '@nestjs/core';
import { LockExplorer } from './lock.explorer';
import { LockInterceptor } from './lock.interceptor';
import { LockService } from './lock.service';

/** Distributed locks (`LockService`, `@WithLock`). Failure policy: fail closed. */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [LockService, LockExplorer, { provide: APP_INTERCEPTOR, useClass: LockInterceptor }],
  exports: [LockService],
})
export class LockModule {}
