import { ConfigurableModuleBuilder } from '@nestjs/common';

/**
 * Options of {@link SessionModule}. Times in ms.
 *
 * @example
 * SessionModule.forRoot({ secrets: [sessionSecret], secure: true, isGlobal: true })
 */
export interface SessionModuleOptions {
  /** Cookie signing keys: the first signs, every one verifies (rotate by prepending a new one). */
  secrets: string[];
  /** Default `sid`. */
  cookieName?: string;
  /** Default `strict`. */
  sameSite?: 'strict' | 'lax' | 'none';
  /** `Secure` attribute (HTTPS only). Default false; turn it on in production. */
  secure?: boolean;
  /** A session not used for this long ends. Default 24 h. */
  idleMs?: number;
  /** The idle deadline is pushed back at most this often (one write per interval, not per request). Default 60 s. */
  touchMs?: number;
  /** A session ends this long after login, however active. Default 7 days. */
  absoluteMs?: number;
}

export type ResolvedSessionOptions = Required<SessionModuleOptions>;

export function resolveSessionOptions(o: SessionModuleOptions): ResolvedSessionOptions {
  if (!o.secrets?.length)
    throw new Error('SessionModule: give at least one secret to sign cookies');
  return {
    secrets: o.secrets,
    cookieName: o.cookieName ?? 'sid',
    sameSite: o.sameSite ?? 'strict',
    secure: o.secure ?? false,
    idleMs: o.idleMs ?? 24 * 3_600_000,
    touchMs: o.touchMs ?? 60_000,
    absoluteMs: o.absoluteMs ?? 7 * 86_400_000,
  };
}

export const SESSION_OPTIONS = 'SESSION:OPTIONS';

export const {
  ConfigurableModuleClass: SessionConfigurableModule,
  MODULE_OPTIONS_TOKEN: SESSION_MODULE_OPTIONS,
} = new ConfigurableModuleBuilder<SessionModuleOptions>({ moduleName: 'Session' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
