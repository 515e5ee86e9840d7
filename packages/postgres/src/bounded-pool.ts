import { AevonError, assert } from '@aevon/core';
import pg from 'pg';
import type { PoolClient } from 'pg';

/** Connections in a pool that the storage creates. */
export const poolMaxDefault = 10;
/** Callers that may wait for a pooled connection at once; one more is turned away with `AEV_OVERLOADED`. */
export const poolWaitersMaxDefault = 1_000;
/**
 * How long a caller waits for a connection, whether a new one being opened or a busy one being returned, before it
 * fails with `AEV_STORAGE_UNAVAILABLE`: 5 s. pg's own default is to wait forever, which turns a database outage into
 * hanging requests.
 */
export const connectTimeoutMsDefault = 5_000;

/** What {@link createBoundedPool} needs. */
export interface BoundedPoolOptions {
  readonly connectionString: string;
  readonly max: number;
  readonly waitersMax: number;
  readonly connectTimeoutMs: number;
}

type ConnectCallback = (
  error: Error | undefined,
  client: PoolClient | undefined,
  done: (release?: unknown) => void,
) => void;

/**
 * A pg pool whose queue of callers waiting for a connection is bounded: pg queues them without limit, so under a
 * load the database cannot keep up with they would pile up in memory. `pool.query` checks out through `connect`,
 * so the bound covers both.
 */
class BoundedPool extends pg.Pool {
  readonly #waitersMax: number;

  constructor(options: BoundedPoolOptions) {
    super({
      connectionString: options.connectionString,
      max: options.max,
      connectionTimeoutMillis: options.connectTimeoutMs,
      // TCP keepalive notices a database host that vanished without closing its sockets.
      keepAlive: true,
    });
    this.#waitersMax = options.waitersMax;
  }

  override connect(): Promise<PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<PoolClient> | void {
    if (this.waitingCount >= this.#waitersMax) {
      const error = new AevonError('AEV_OVERLOADED', {
        queued: this.waitingCount,
        max: this.#waitersMax,
        retryAfterMs: 1000,
      });
      if (callback === undefined) return Promise.reject(error);
      callback(error, undefined, () => undefined);
      return;
    }
    if (callback === undefined) return super.connect();
    super.connect(callback);
  }
}

/**
 * Creates the pool a storage runs on: at most `max` connections, at most `waitersMax` callers waiting for one
 * (more: `AEV_OVERLOADED`), and each wait bounded by `connectTimeoutMs` (then `AEV_STORAGE_UNAVAILABLE`), so that
 * neither overload nor a database outage makes memory or latency grow without bound. After an outage the pool opens
 * fresh connections on demand: nothing needs restarting.
 */
export function createBoundedPool(options: BoundedPoolOptions): pg.Pool {
  assert(Number.isSafeInteger(options.max) && options.max >= 1, 'poolMax is a positive integer');
  assert(
    Number.isSafeInteger(options.waitersMax) && options.waitersMax >= 1,
    'poolWaitersMax is a positive integer',
  );
  assert(
    Number.isSafeInteger(options.connectTimeoutMs) && options.connectTimeoutMs >= 1,
    'connectTimeoutMs is a positive integer',
  );
  const pool = new BoundedPool(options);
  // An idle client that loses its connection emits 'error' on the pool; unhandled, it would crash the process. The
  // pool drops that client, and the next query reports AEV_STORAGE_UNAVAILABLE.
  pool.on('error', () => undefined);
  return pool;
}
