import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadRules } from './load-rules.js';
import { loadSchemas } from './load-schemas.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'aevon-rules-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

describe('loadRules', () => {
  it('loads one rule per YAML file, in name order', async () => {
    const dir = folder({
      'b.yml':
        'name: tokens\nsource_event: llm.call\noperator: sum\nfield: tokens.input\nwindow_size: 1m\n',
      'a.yaml': "name: 'count_api_requests'\nsource_event: 'api.request'\noperator: 'count'\n",
      'notes.txt': 'ignored',
    });
    expect(await loadRules(dir)).toEqual([
      { name: 'count_api_requests', sourceEvent: 'api.request', operator: 'count' },
      { name: 'tokens', sourceEvent: 'llm.call', operator: 'sum', field: 'tokens.input' },
    ]);
  });

  it('yields no rules for a missing or empty directory', async () => {
    expect(await loadRules(join(tmpdir(), 'aevon-no-such-dir-xyz'))).toEqual([]);
    expect(await loadRules(folder({}))).toEqual([]);
  });

  it('rejects bad rules naming the file', async () => {
    const bad = [
      'name: x\nsource_event: a\noperator: count\nextra: 1\n',
      'name: x\nsource_event: a\noperator: avg\n',
      'name: x\nsource_event: a\noperator: sum\n',
      'name: x\nsource_event: a\noperator: count\nfield: v\n',
      'name: x\nsource_event: a\noperator: count\nwindow_size: 5m\n',
      'name: [x\n',
      '- name: x\n',
    ];
    for (const text of bad) {
      const dir = folder({ 'r.yaml': text });
      await expect(loadRules(dir), text).rejects.toMatchObject({
        code: 'AEV_CONFIG_INVALID',
        details: { source: join(dir, 'r.yaml') },
      });
    }
    const dir = folder({
      'a.yaml': 'name: x\nsource_event: a\noperator: count\n',
      'b.yaml': 'name: x\nsource_event: b\noperator: count\n',
    });
    await expect(loadRules(dir)).rejects.toMatchObject({
      code: 'AEV_CONFIG_INVALID',
      details: { source: join(dir, 'b.yaml') },
    });
  });
});

describe('loadSchemas', () => {
  it('loads <type>/<version>.json and rejects a broken schema naming the file', async () => {
    const dir = folder({
      'api.request/1.json': '{"type":"object"}',
      'api.request/01.json': '{}',
      'README.md': '#',
    });
    const schemas = await loadSchemas(dir);
    expect([...schemas.keys()]).toEqual(['api.request']);
    expect(schemas.get('api.request')?.get(1)).toEqual({ type: 'object' });
    const broken = folder({ 't/2.json': '{"type":"nonsense"}' });
    await expect(loadSchemas(broken)).rejects.toMatchObject({
      code: 'AEV_CONFIG_INVALID',
      details: { source: join(broken, 't/2.json') },
    });
    expect((await loadSchemas(join(tmpdir(), 'aevon-no-such-dir-xyz'))).size).toBe(0);
  });
});
