import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** Every product source file (apps, libs, the launcher), tests left out. */
function productSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return productSources(path);
    return /\.[cm]?[jt]s$/.test(entry.name) && !/\.(e2e-)?spec\.ts$/.test(entry.name) ? [path] : [];
  });
}

describe('who reads the environment', () => {
  it('no product code outside libs/config touches process.env or loads an env file; libs/config reads it only through @nestjs/config', () => {
    const readers = ['apps', 'libs', 'src']
      .flatMap((dir) => productSources(join(ROOT, dir)))
      .filter((file) => /process\.env\b|loadEnvFile|dotenv/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(ROOT, file));
    // config-source.ts names process.env in its comments only: ConfigModule.forRoot does the reading.
    expect(readers).toEqual(['libs/config/src/config-source.ts']);
    const code = readFileSync(join(ROOT, 'libs/config/src/config-source.ts'), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    expect(code).not.toMatch(/process\.env|loadEnvFile/);
    expect(code).toMatch(/ConfigModule\.forRoot\(/);
  });
});
