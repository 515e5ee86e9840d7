import type { Pool, PoolClient } from 'pg';

/**
 * Runs `body` in a transaction opened with `begin` (`BEGIN`, or with an isolation level) on a client of its own;
 * commits when it resolves and rolls back when it throws.
 *
 * A checked-out client reports a lost connection both to its query and as an `'error'` event: the query's rejection
 * is what we act on, and an unheard event would crash the process. A client that cannot even roll back is destroyed
 * rather than returned to the pool.
 */
export async function inTransaction<T>(
  pool: Pool,
  begin: string,
  body: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  client.on('error', ignore);
  let healthy = true;
  try {
    await client.query(begin);
    const result = await body(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    healthy = await client.query('ROLLBACK').then(
      () => true,
      () => false,
    );
    throw error;
  } finally {
    client.off('error', ignore);
    client.release(!healthy);
  }
}

/** Swallows a client's `'error'` event; see {@link inTransaction}. */
export const ignore = (): void => undefined;
