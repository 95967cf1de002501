import { Logger } from '@nestjs/common';
import type { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';

type AnyMethod = (...args: unknown[]) => unknown;

/**
 * A request-scoped (or transient-dependent) provider gets a new instance per request, which the
 * wrapper never sees: its decorators would silently do nothing. Say so at start-up.
 */
function warnIfDecorated(
  metatype: unknown,
  scanner: MetadataScanner,
  reflector: Reflector,
  metadataKeys: string[],
): void {
  if (typeof metatype !== 'function') return;
  const proto = (metatype as { prototype: Record<string, unknown> }).prototype;
  for (const name of scanner.getAllMethodNames(proto)) {
    const method = proto[name];
    if (typeof method !== 'function') continue;
    const keys = metadataKeys.filter((k) => reflector.get(k, method as AnyMethod) !== undefined);
    if (keys.length === 0) continue;
    new Logger('Decorators').warn(
      `${(metatype as { name: string }).name}.${name} carries ${keys.join(', ')} but its provider is request-scoped: the decorator cannot apply to per-request instances. Make the provider a singleton, or put the decorator on a controller route.`,
    );
  }
}

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
    if (!instance || typeof instance !== 'object') continue;
    if (!wrapper.isDependencyTreeStatic()) {
      warnIfDecorated(wrapper.metatype, scanner, reflector, metadataKeys);
      continue;
    }
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
