import type { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';

type AnyMethod = (...args: unknown[]) => unknown;

/**
 * Finds provider methods carrying any of `metadataKeys` and replaces each on its instance (the
 * prototype, and with it every decorator's metadata, stays as it is) with `wrap(original,
 * metadata, label)`. Used by feature modules whose decorators must work on service methods,
 * where no interceptor runs. Controllers are left to interceptors.
 */
export function wrapDecoratedProviderMethods(
  discovery: DiscoveryService,
  scanner: MetadataScanner,
  reflector: Reflector,
  metadataKeys: string[],
  wrap: (
    original: AnyMethod,
    metadata: Record<string, unknown>,
    label: string,
    instance: object,
  ) => AnyMethod,
): void {
  for (const wrapper of discovery.getProviders()) {
    const instance = wrapper.instance as Record<string, unknown> | undefined;
    if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
    const proto = Object.getPrototypeOf(instance) as object;
    for (const name of scanner.getAllMethodNames(proto)) {
      const method = instance[name];
      if (typeof method !== 'function') continue;
      const metadata: Record<string, unknown> = {};
      for (const key of metadataKeys) {
        const value: unknown = reflector.get(key, method as AnyMethod);
        if (value !== undefined) metadata[key] = value;
      }
      if (Object.keys(metadata).length === 0) continue;
      instance[name] = wrap(
        method as AnyMethod,
        metadata,
        `${instance.constructor.name}.${name}`,
        instance,
      );
    }
  }
}
