// jest-light-runner runs the suite as native ES modules (the same code that
// ships), with @swc-node/register (loaded through NODE_OPTIONS by the npm
// scripts) compiling TypeScript on the fly. See README "Toolchain".
export default {
  runner: 'jest-light-runner',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/apps/**/*.spec.ts', '<rootDir>/src/**/*.spec.ts', '<rootDir>/clients/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: {},
  testTimeout: 60000,
  // Each e2e file starts and stops its own redis-server (test/support/redis.ts); this stops any left running.
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
};
