// Goal: keep the package graph of ARCHITECTURE.md §3 true, and every test file tagged with its tier.
// Method: read every workspace package.json and every file name under packages/, test/ and bench/.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The @aevon packages each package may depend on (runtime dependencies). */
const allowed: Record<string, readonly string[]> = {
  '@aevon/core': [],
  // The data definition language: parser, model and checks; pure, like core.
  '@aevon/ddl': ['@aevon/core'],
  // Storage engines run the aggregate store, which needs the DDL's pure write functions.
  '@aevon/sqlite': ['@aevon/core', '@aevon/ddl'],
  '@aevon/postgres': ['@aevon/core', '@aevon/ddl'],
  '@aevon/conformance': ['@aevon/core'],
  '@aevon/engine': ['@aevon/core', '@aevon/ddl'],
  '@aevon/server': ['@aevon/core', '@aevon/ddl', '@aevon/engine'],
  '@aevon/cli': [
    '@aevon/core',
    '@aevon/ddl',
    '@aevon/engine',
    '@aevon/server',
    '@aevon/sqlite',
    '@aevon/postgres',
  ],
  // Private; never published. Benchmarks may measure any package.
  '@aevon/bench': [
    '@aevon/core',
    '@aevon/ddl',
    '@aevon/sqlite',
    '@aevon/postgres',
    '@aevon/engine',
    '@aevon/server',
    '@aevon/cli',
  ],
};

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

function manifests(): Manifest[] {
  const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    workspaces: string[];
  };
  return rootManifest.workspaces.map(
    (dir) => JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as Manifest,
  );
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    if (entry === 'node_modules' || entry === 'dist' || entry.startsWith('.')) return [];
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

/** Every runtime import specifier of a source file (type-only imports included: they tie the graph too). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*'(@aevon\/[a-z-]+)/g)].map((m) => m[1] ?? '');
}

describe('repository rules', () => {
  it('lists every workspace package in the allowed graph', () => {
    expect(
      manifests()
        .map((m) => m.name)
        .sort(),
    ).toEqual(Object.keys(allowed).sort());
  });

  it('keeps @aevon/core free of runtime dependencies', () => {
    const core = manifests().find((m) => m.name === '@aevon/core');
    expect(core?.dependencies ?? {}).toEqual({});
    expect(core?.peerDependencies ?? {}).toEqual({});
  });

  it('declares only allowed @aevon dependencies in each package.json', () => {
    for (const manifest of manifests()) {
      const deps = Object.keys({
        ...manifest.dependencies,
        ...manifest.optionalDependencies,
      }).filter((d) => d.startsWith('@aevon/'));
      expect(
        deps.filter((d) => !(allowed[manifest.name] ?? []).includes(d)),
        manifest.name,
      ).toEqual([]);
    }
  });

  it('imports only allowed @aevon packages from non-test sources', () => {
    for (const manifest of manifests()) {
      const name = manifest.name.replace('@aevon/', '');
      const dir = join(root, name === 'bench' ? 'bench' : join('packages', name), 'src');
      for (const file of walk(dir).filter((f) => f.endsWith('.ts') && !f.includes('.test.'))) {
        const bad = importsOf(file).filter(
          (s) => s !== manifest.name && !(allowed[manifest.name] ?? []).includes(s),
        );
        expect(bad, relative(root, file)).toEqual([]);
      }
    }
  });

  it('keeps core free of Node-only modules', () => {
    const dir = join(root, 'packages', 'core', 'src');
    for (const file of walk(dir).filter((f) => f.endsWith('.ts') && !f.includes('.test.'))) {
      expect(readFileSync(file, 'utf8'), relative(root, file)).not.toMatch(
        /from\s+'node:|require\(/,
      );
    }
  });

  it('names every test file with its tier', () => {
    const tiers = /\.(unit|int|e2e|sim)\.test\.ts$|\.test-d\.ts$/;
    const files = ['packages', 'test', 'bench'].flatMap((d) => walk(join(root, d)));
    const untiered = files.filter((f) => /\.test(-d)?\.[cm]?[jt]s$/.test(f) && !tiers.test(f));
    expect(untiered.map((f) => relative(root, f))).toEqual([]);
  });
});
