// jest-light-runner runs the suite as native ES modules (the same code that
// ships), with @swc-node/register (loaded through NODE_OPTIONS by the npm
// scripts) compiling TypeScript on the fly. See README "Toolchain".
export default {
  runner: 'jest-light-runner',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/apps/**/*.spec.ts', '<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform: {},
  testTimeout: 60000,
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
};
