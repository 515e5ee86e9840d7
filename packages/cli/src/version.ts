import { readFileSync } from 'node:fs';

/** The version of `@aevon/cli`, read from its package.json (one level above `dist/` and `src/`). */
export function readCliVersion(): string {
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  const parsed = JSON.parse(text) as { version?: unknown };
  return typeof parsed.version === 'string' ? parsed.version : '0.0.0';
}
