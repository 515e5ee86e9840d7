// API key lookup cost: what checking a key on every request would cost, to decide how long the server may cache a
// lookup (docs/reference/http.md#authentication). For each engine: `ApiKeyStore.find` of a random stored id, one
// after another, next to the baseline of a single-event append through the same storage measured in the same run
// (the work a write request does anyway), and the SHA-256 + timingSafeEqual check of a secret.
// Usage: node bench/dist/api-keys.js [--quick] [--engines sqlite,postgres] [--out DIR]
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ApiKeyStore, EventStore } from '@aevon/core';
import { createEventStore, createSeededRandom, formatTimestamp } from '@aevon/core';
import { createPostgresApiKeyStore, createPostgresStorage } from '@aevon/postgres';
import { createSqliteApiKeyStore, createSqliteStorage } from '@aevon/sqlite';
import pg from 'pg';
import { postgresServerUrl } from './engine-targets.js';
import type { LatencyMeasurement } from './report.js';
import { environment, latency, writeReport } from './report.js';
import { runBench } from './run-bench.js';

/** The command line; read in main, so that a bad option is a one-line usage error (runBench). */
function parseCommandLine() {
  return parseArgs({
    options: {
      quick: { type: 'boolean' },
      engines: { type: 'string', default: 'sqlite,postgres' },
      out: { type: 'string', default: 'bench/results' },
    },
  }).values;
}
let lookups = 5000;
const keysStored = 100;

interface Subject {
  readonly keys: ApiKeyStore;
  readonly events: EventStore;
  close(): Promise<void>;
}

async function openSqlite(dir: string): Promise<Subject> {
  const storage = createSqliteStorage({ path: join(dir, 'keys.db') });
  return {
    keys: createSqliteApiKeyStore(storage),
    events: eventStore(storage),
    close: () => storage.close(),
  };
}

async function openPostgres(): Promise<Subject> {
  const serverUrl = postgresServerUrl();
  const name = `aevon_bench_keys_${process.pid}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const storage = await createPostgresStorage({ connectionString: url.toString() });
  return {
    keys: await createPostgresApiKeyStore(storage),
    events: eventStore(storage),
    close: async () => {
      await storage.close();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

function eventStore(storage: Parameters<typeof createEventStore>[0]['storage']): EventStore {
  return createEventStore({
    storage,
    clock: { nowMs: () => Date.now() },
    random: createSeededRandom(7),
  });
}

const sinceMs = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

async function measureEngine(engine: string, subject: Subject): Promise<LatencyMeasurement> {
  const ids: string[] = [];
  for (let i = 0; i < keysStored; i += 1) {
    const id = randomBytes(8).toString('hex');
    ids.push(id);
    await subject.keys.create({
      id,
      name: `bench ${i}`,
      scopes: ['events:write'],
      secretHash: createHash('sha256').update(randomBytes(32)).digest('hex'),
      createdAt: formatTimestamp(Date.now()),
      revokedAt: null,
    });
  }
  const appendMs: number[] = [];
  for (let i = 0; i < lookups; i += 1) {
    const start = process.hrtime.bigint();
    await subject.events.append(`principals/bench-${i % 100}`, [
      { id: `bench-${i}`, type: 'api.request', data: {} },
    ]);
    appendMs.push(sinceMs(start));
  }
  const findMs: number[] = [];
  for (let i = 0; i < lookups; i += 1) {
    const start = process.hrtime.bigint();
    const found = await subject.keys.find(ids[i % ids.length] ?? '');
    findMs.push(sinceMs(start));
    if (found === null) throw new Error('a stored key was not found');
  }
  return latency(engine, 'ApiKeyStore.find', findMs, {
    baseline: { name: 'single-event append', samplesMs: appendMs },
  });
}

function measureHash(): LatencyMeasurement {
  const secret = randomBytes(32).toString('base64url');
  const stored = createHash('sha256').update(secret).digest();
  const samples: number[] = [];
  for (let i = 0; i < lookups; i += 1) {
    const start = process.hrtime.bigint();
    const presented = createHash('sha256').update(secret, 'utf8').digest();
    if (!timingSafeEqual(presented, stored)) throw new Error('the hashes differ');
    samples.push(sinceMs(start));
  }
  return latency('cpu', 'sha256 + timingSafeEqual', samples);
}

async function main(): Promise<void> {
  const values = parseCommandLine();
  lookups = values.quick === true ? 200 : 5000;
  const engines = values.engines.split(',').map((name) => name.trim());
  const results: LatencyMeasurement[] = [measureHash()];
  const dir = mkdtempSync(join(tmpdir(), 'aevon-bench-keys-'));
  try {
    for (const engine of engines) {
      if (engine !== 'sqlite' && engine !== 'postgres') throw new Error(`unknown engine ${engine}`);
      const subject = engine === 'sqlite' ? await openSqlite(dir) : await openPostgres();
      try {
        results.push(await measureEngine(engine, subject));
      } finally {
        await subject.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const config = environment({ lookups, keysStored, quick: values.quick === true });
  const name = values.quick === true ? 'api-keys-quick' : 'api-keys';
  const files = writeReport(values.out, name, config, new Date().toISOString(), [
    {
      key: 'latency',
      title: 'Latency per call (ms)',
      rows: results,
      columns: [
        ['engine', 'engine'],
        ['shape', 'shape'],
        ['calls', 'queries'],
        ['p50', 'p50Ms'],
        ['p99', 'p99Ms'],
        ['p99.9', 'p999Ms'],
        ['baseline', 'baseline'],
        ['baseline p50', 'baselineP50Ms'],
        ['baseline p99', 'baselineP99Ms'],
        ['p50 ratio', 'ratioP50'],
      ],
    },
  ]);
  console.log(`wrote ${files.json} and ${files.markdown}`);
}

await runBench('bench:api-keys', main);
