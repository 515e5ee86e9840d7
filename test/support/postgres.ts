import { inject } from 'vitest';
import pg from 'pg';

/** A fresh, empty database on the test PostgreSQL server; `drop` removes it. */
export interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
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
