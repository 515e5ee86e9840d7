import { createHash } from 'node:crypto';
import pg from 'pg';

/**
 * Removes what a PostgreSQL aggregate store creates outside its storage schema: the aggregate schema and the SQL
 * reader role. Roles are cluster-wide, so a test that leaves them behind would leave one per test on a developer's
 * server. The role name follows `aggregateNamesOf` in `@aevon/postgres`.
 */
export async function dropAggregateSchemaAndRole(url: string, schema: string): Promise<void> {
  const database = decodeURIComponent(new URL(url).pathname.slice(1));
  const digest = createHash('sha256').update(`${database}\0${schema}`).digest('hex');
  const role = `aevon_sql_reader_${digest.slice(0, 24)}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}_aggregates" CASCADE`);
    const found = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    if (found.rowCount === 1) {
      await client.query(`DROP OWNED BY "${role}"`);
      await client.query(`DROP ROLE "${role}"`);
    }
  } finally {
    await client.end();
  }
}
