import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { UserDirectory } from './auth.types';

/**
 * Options of {@link AuthModule}. Times in ms.
 *
 * @example
 * AuthModule.forRootAsync({
 *   imports: [UsersModule],
 *   inject: [UsersService],
 *   useFactory: (users: UsersService) => ({ directory: users, jwt: { secret, issuer: 'shop', audience: 'shop-api' } }),
 * })
 */
export interface AuthModuleOptions {
  /** Where users and passwords live (the application's user directory). */
  directory: UserDirectory;
  jwt: {
    /** HS256 signing key (≥ 32 random characters). */
    secret: string;
    issuer: string;
    audience: string;
    /** Access token lifetime. Default 15 min. */
    accessTtlMs?: number;
    /** Clock tolerance for `exp` and `nbf`, seconds. Default 5. */
    clockToleranceS?: number;
  };
  /** Refresh token family lifetime (from login; rotation does not extend it). Default 30 days. */
  refreshTtlMs?: number;
  /**
   * A refresh token presented again within this time after it was rotated is refused without
   * revoking its family (two concurrent refreshes); later, or an older token, revokes the family
   * (RFC 9700 reuse detection). Default 10 s.
   */
  refreshReuseGraceMs?: number;
  /** Failed logins allowed per account and per client, per window. Defaults 5/15 min and 30/15 min. */
  loginLimit?: { limit: number; windowMs: number };
  loginClientLimit?: { limit: number; windowMs: number };
}

export type ResolvedAuthOptions = Required<Omit<AuthModuleOptions, 'jwt'>> & {
  jwt: Required<AuthModuleOptions['jwt']>;
};

export function resolveAuthOptions(o: AuthModuleOptions): ResolvedAuthOptions {
  return {
    directory: o.directory,
    jwt: { accessTtlMs: 15 * 60_000, clockToleranceS: 5, ...o.jwt },
    refreshTtlMs: o.refreshTtlMs ?? 30 * 86_400_000,
    refreshReuseGraceMs: o.refreshReuseGraceMs ?? 10_000,
    loginLimit: o.loginLimit ?? { limit: 5, windowMs: 15 * 60_000 },
    loginClientLimit: o.loginClientLimit ?? { limit: 30, windowMs: 15 * 60_000 },
  };
}

export const AUTH_OPTIONS = 'AUTH:OPTIONS';

export const {
  ConfigurableModuleClass: AuthConfigurableModule,
  MODULE_OPTIONS_TOKEN: AUTH_MODULE_OPTIONS,
} = new ConfigurableModuleBuilder<AuthModuleOptions>({ moduleName: 'Auth' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
