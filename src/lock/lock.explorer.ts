import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { buildKey, methodKeyContext, wrapDecoratedProviderMethods } from '../common';
import { LockService } from './lock.service';
import { WITH_LOCK_METADATA } from './lock.constants';
import type { WithLockOptions } from './with-lock.decorator';

/** Makes `@WithLock` work on provider methods (resource from arguments: `'{0}'`). */
@Injectable()
export class LockExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
    private readonly locks: LockService,
  ) {}

  onModuleInit(): void {
    const locks = this.locks;
    wrapDecoratedProviderMethods(
      this.discovery,
      this.scanner,
      this.reflector,
      [WITH_LOCK_METADATA],
      (original, meta, label, instance) => {
        const options = meta[WITH_LOCK_METADATA] as WithLockOptions;
        return (...args: unknown[]) => {
          const resource = buildKey(options.key, methodKeyContext(args), label);
          return locks.using(resource, options, () => original.apply(instance, args));
        };
      },
    );
  }
}
