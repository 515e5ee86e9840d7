import type { CommitSignal } from '@aevon/core';
import { assert, createCommitSignal } from '@aevon/core';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { connectTimeoutMsDefault } from './bounded-pool.js';
import { appendChannelOf } from './queries/tables.js';

/** First wait before the listener reconnects after a failure: 100 ms; it doubles up to the maximum. */
export const listenReconnectDelayMsMin = 100;
/** Longest wait between two reconnection attempts of the listener: 5 s. */
export const listenReconnectDelayMsMax = 5_000;
/** The `application_name` of the listener's connection, so that operators can tell it apart in `pg_stat_activity`. */
export const listenApplicationName = 'aevon_listener';

/** Options of {@link createPostgresAppendListener}. */
export interface PostgresAppendListenerOptions {
  readonly connectionString: string;
  /** The schema whose appends to hear about. Default: `aevon`. */
  readonly schema?: string;
  /** How long one connection attempt may take. Default: {@link connectTimeoutMsDefault}. */
  readonly connectTimeoutMs?: number;
  /** First reconnection delay. Default: {@link listenReconnectDelayMsMin}. */
  readonly reconnectDelayMsMin?: number;
  /** Longest reconnection delay. Default: {@link listenReconnectDelayMsMax}. */
  readonly reconnectDelayMsMax?: number;
  /** Called with each failure of the connection (lost, or not opened); the listener then retries. Default: none. */
  readonly onError?: (error: unknown) => void;
  /** Called each time the listener is connected and listening (first time and after each reconnection). */
  readonly onListening?: () => void;
}

/**
 * A {@link CommitSignal} fed by PostgreSQL notifications: it moves on every append committed to the schema's log by
 * ANY process (appends send `pg_notify` inside their transaction), so that live subscriptions wake at once rather
 * than at their next poll. It is a hint only: a subscription still reads the ordered log (below the read watermark),
 * and keeps its poll as a safety net for events behind the watermark and for notifications lost while the
 * connection was down.
 */
export interface PostgresAppendListener extends CommitSignal {
  /** Stops listening and closes the connection; the signal no longer moves. */
  close(): Promise<void>;
}

/**
 * Opens the listener: one dedicated connection (outside the storage's pool, since a `LISTEN` belongs to a session)
 * that runs `LISTEN aevon_events_<schema>`. When the connection fails it reconnects after a delay that doubles from
 * `reconnectDelayMsMin` to `reconnectDelayMsMax`, and moves the signal once listening again, since notifications sent
 * while it was away are lost. It returns at once; connecting happens in the background.
 */
export function createPostgresAppendListener(
  options: PostgresAppendListenerOptions,
): PostgresAppendListener {
  const delayMin = options.reconnectDelayMsMin ?? listenReconnectDelayMsMin;
  const delayMax = options.reconnectDelayMsMax ?? listenReconnectDelayMsMax;
  assert(Number.isSafeInteger(delayMin) && delayMin > 0, 'reconnectDelayMsMin is positive');
  assert(Number.isSafeInteger(delayMax) && delayMax >= delayMin, 'reconnectDelayMsMax >= min');
  const channel = appendChannelOf(options.schema ?? 'aevon');
  const signal = createCommitSignal();
  const closing = new AbortController();
  const session: Session = {
    connectionString: options.connectionString,
    connectTimeoutMs: options.connectTimeoutMs ?? connectTimeoutMsDefault,
    channel,
    notified: () => signal.committed(),
    closing: closing.signal,
  };
  const run = async (): Promise<void> => {
    let delayMs = delayMin;
    while (!closing.signal.aborted) {
      const error = await listenUntilFailure(session, () => {
        delayMs = delayMin;
        // Whatever was appended while no connection listened was not notified: wake everyone once.
        signal.committed();
        options.onListening?.();
      });
      if (closing.signal.aborted) break;
      options.onError?.(error);
      await sleep(delayMs, undefined, { signal: closing.signal }).catch(() => undefined);
      delayMs = Math.min(delayMs * 2, delayMax);
    }
  };
  const running = run();
  return {
    sequence: () => signal.sequence(),
    onCommit: (listener) => signal.onCommit(listener),
    close: async () => {
      closing.abort();
      await running;
    },
  };
}

interface Session {
  readonly connectionString: string;
  readonly connectTimeoutMs: number;
  readonly channel: string;
  readonly notified: () => void;
  readonly closing: AbortSignal;
}

/** One connection's life: connect, LISTEN, then wait until it fails (returned) or the listener closes. */
async function listenUntilFailure(session: Session, onListening: () => void): Promise<unknown> {
  const client = new pg.Client({
    connectionString: session.connectionString,
    connectionTimeoutMillis: session.connectTimeoutMs,
    application_name: listenApplicationName,
    // TCP keepalive notices a database host that vanished without closing the socket.
    keepAlive: true,
  });
  let fail: (error: unknown) => void = () => undefined;
  const failed = new Promise<unknown>((resolve) => (fail = resolve));
  // Without an 'error' listener a lost connection would crash the process.
  client.on('error', (error) => fail(error));
  client.on('end', () => fail(new Error('the LISTEN connection ended')));
  client.on('notification', (message) => {
    if (message.channel === session.channel) session.notified();
  });
  const onClose = (): void => {
    fail(null);
    // Also cuts short a connection attempt still under way.
    client.end().catch(() => undefined);
  };
  session.closing.addEventListener('abort', onClose, { once: true });
  try {
    await client.connect();
    // The channel is a plain lower-case identifier (appendChannelOf), so it needs no quoting.
    await client.query(`LISTEN ${session.channel}`);
    if (!session.closing.aborted) onListening();
    return await failed;
  } catch (error) {
    return error;
  } finally {
    session.closing.removeEventListener('abort', onClose);
    await client.end().catch(() => undefined);
  }
}
