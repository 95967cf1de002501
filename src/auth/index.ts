// Public face of the auth module.
export * from './auth.types';
export * from './auth.errors';
export * from './auth.module-definition';
export * from './auth.module';
export * from './auth.service';
export * from './auth.guard';
export { AccessTokens, type AccessClaims } from './access-tokens';
export { TokenStore } from './token.store';
