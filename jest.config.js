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

/**
 * Suites the Cluster pass (`npm run test:cluster`, TEST_REDIS_MODE=cluster) leaves out: they do
 * the same work whatever the shared Redis is, so a second pass proves nothing and costs CI time.
 * Every other suite runs in both passes.
 */
const NOT_IN_CLUSTER_PASS = [
  // Only a private standalone redis-server of their own (they stop, freeze or restart it).
  'test/foundation/redis-failure',
  'test/foundation/redis-stall',
  'test/foundation/stall-breaker',
  'test/feed/feed-outage',
  'test/realtime/redis-restart',
  // Standalone-only by design (a private Sentinel set): skipped inside the Cluster pass anyway.
  'test/ha/sentinel-failover',
  // Input refused before any Redis command: HTTP parsing, validation, credential format.
  'test/contract/openapi-fuzz',
  'test/foundation/hostile-input',
  'test/auth/malformed-credentials',
  'test/realtime/bad-input',
  // The database (also run against PostgreSQL by `npm run test:db`), log format, docs.
  'test/database/',
  'test/foundation/logs',
  'test/ops/ops-docs',
];

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
      testPathIgnorePatterns:
        process.env.TEST_REDIS_MODE === 'cluster'
          ? ['/node_modules/', ...NOT_IN_CLUSTER_PASS.map((p) => `<rootDir>/${p}`)]
          : ['/node_modules/'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
