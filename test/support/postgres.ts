import type { PostgresStorage } from '@aevon/postgres';
import { createPostgresStorage } from '@aevon/postgres';
import pg from 'pg';
import { afterAll, inject } from 'vitest';
import { dropAggregateSchemaAndRole } from './postgres-aggregates.js';

/** A fresh, empty database on the test PostgreSQL server; `drop` removes it. */
export interface TestDatabase {
  readonly url: string;
  readonly drop: () => Promise<void>;
}

let counter = 0;

/** Creates a uniquely named database so that test files never share state. */
export async function createTestDatabase(prefix = 'aevon_test'): Promise<TestDatabase> {
  const serverUrl = inject('postgresUrl');
  counter += 1;
  const name = `${prefix}_${process.pid}_${counter}_${Math.floor(Math.random() * 1e9)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      // Aggregate stores create a cluster-wide SQL reader role per schema: drop them with the database.
      await dropAggregateRolesIn(url.toString());
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Drops the aggregate schemas of a database and their cluster-wide reader roles. */
async function dropAggregateRolesIn(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let schemas: string[];
  try {
    const found = await client.query<{ schema: string }>(
      `SELECT left(nspname, length(nspname) - length('_aggregates')) AS schema FROM pg_namespace
       WHERE nspname LIKE '%\\_aggregates'`,
    );
    schemas = found.rows.map((row) => row.schema);
  } finally {
    await client.end();
  }
  for (const schema of schemas) await dropAggregateSchemaAndRole(url, schema);
}

/** A fresh schema in the file's test database, and how to drop it. */
export interface FreshSchema {
  readonly url: string;
  readonly schema: string;
  readonly drop: () => Promise<void>;
}

/**
 * One test database for the calling file (created on first use, dropped after all its tests) and a fresh schema per
 * call: creating a schema is far cheaper than a database.
 */
export function freshSchemas(prefix: string): () => Promise<FreshSchema> {
  let database: Promise<TestDatabase> | null = null;
  let count = 0;
  afterAll(async () => {
    if (database !== null) await (await database).drop();
  });
  return async () => {
    database ??= createTestDatabase(`aevon_${prefix}`);
    const { url } = await database;
    count += 1;
    const schema = `${prefix}_${count}`;
    return {
      url,
      schema,
      drop: async () => {
        await dropAggregateSchemaAndRole(url, schema);
        const admin = new pg.Client({ connectionString: url });
        await admin.connect();
        try {
          await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        } finally {
          await admin.end();
        }
      },
    };
  };
}

/**
 * The target of a store contract that runs on PostgreSQL (API keys, named subscriptions): a store on a fresh schema,
 * `openAnother` on the same schema with its own pool (as another node would), and a dispose that closes every pool
 * and drops the schema.
 */
export function postgresStoreTargets<S>(
  prefix: string,
  create: (storage: PostgresStorage) => Promise<S>,
): () => Promise<{ store: S; openAnother: () => Promise<S>; dispose: () => Promise<void> }> {
  const next = freshSchemas(prefix);
  return async () => {
    const { url, schema, drop } = await next();
    const open = () => createPostgresStorage({ connectionString: url, schema, poolMax: 2 });
    const first = await open();
    const storages: PostgresStorage[] = [first];
    return {
      store: await create(first),
      openAnother: async () => {
        const storage = await open();
        storages.push(storage);
        return create(storage);
      },
      dispose: async () => {
        for (const storage of storages) await storage.close();
        await drop();
      },
    };
  };
}
