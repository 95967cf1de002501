// CommonJS + @swc/jest: every @nestjs/* 12 package is ESM-only, and Jest cannot require() ESM,
// so those packages are transformed too (see ../shared/TOOLCHAIN.md). Type checking is done by
// `npm run typecheck`, not here.
const swc = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2023',
  },
  module: { type: 'commonjs' },
};
const common = {
  testEnvironment: 'node',
  rootDir: __dirname,
  transform: { '^.+\\.(t|j|cj|mj)s$': ['@swc/jest', swc] },
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|@fastify|fastify-plugin|content-disposition|file-type|@electric-sql|cookie|@apidevtools)/)'],
};

/** @type {import('jest').Config} */
module.exports = {
  // Suites start real redis-server processes and apps; hangs are caught here, not by timing asserts.
  testTimeout: 60_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
