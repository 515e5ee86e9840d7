// The crash harness's clients: concurrent `POST /v1/events` with a client timeout, a seeded mix of count events, sum
// events and deliberately invalid events, and a ledger of every answer. A request that times out or whose connection
// breaks is retried later with the SAME id and body: a 202 then means the first attempt was not stored, a 409
// duplicate that it was.
import type { Random } from '@aevon/core';
import { formatUtcTimestamp } from '@aevon/core';

/** What the harness sent: a valid event of one of the two rules, or one the server must reject with a 4xx. */
export type EventKind = 'count' | 'sum' | 'invalid';

/**
 * What is known of one event id. `acked`: a 202, or a 409 duplicate on a retry (stored exactly once). `rejected`: a
 * 4xx validation error (never stored). `unknown`: only in-flight failures so far (stored at most once; retried).
 */
export type EventFate = 'unsent' | 'acked' | 'rejected' | 'unknown';

/** One event of the ledger. */
export interface LedgerEntry {
  readonly id: string;
  readonly kind: EventKind;
  readonly principal: string;
  readonly body: Readonly<Record<string, unknown>>;
  fate: EventFate;
  attempts: number;
}

/** Counters for the summary line. */
export interface LoadCounters {
  requests: number;
  /** 202 answers. */
  accepted: number;
  /** 409 duplicates on a retry: the earlier attempt had been stored. */
  duplicatesOnRetry: number;
  /** 4xx answers to the invalid events. */
  rejected: number;
  /** Requests that timed out on the client. */
  timeouts: number;
  /** Requests whose connection failed (reset by the kill, refused). */
  connectionFailures: number;
  /** 429 and 503 answers (retried). */
  busy: number;
  /** Requests that resent an id after an in-flight failure or a 429/503. */
  retries: number;
}

/** The harness's events: every event it created, by id, and the ids still to retry. */
export class Ledger {
  readonly entries = new Map<string, LedgerEntry>();
  readonly counters: LoadCounters = {
    requests: 0,
    accepted: 0,
    duplicatesOnRetry: 0,
    rejected: 0,
    timeouts: 0,
    connectionFailures: 0,
    busy: 0,
    retries: 0,
  };
  /** Answers that break the contract (a 500, a 202 for an invalid event, ...); the checks require none. */
  readonly violations: string[] = [];
  private readonly retryQueue: LedgerEntry[] = [];
  private next = 0;

  constructor(
    private readonly random: Random,
    private readonly settings: LoadSettings,
  ) {}

  /** The next event to send: a pending retry first, else a new event. */
  take(): LedgerEntry {
    const retry = this.retryQueue.shift();
    if (retry !== undefined) {
      this.counters.retries += 1;
      return retry;
    }
    this.next += 1;
    const entry = createEntry(
      `crash-${this.settings.runId}-${this.next}`,
      this.random,
      this.settings,
    );
    this.entries.set(entry.id, entry);
    return entry;
  }

  /**
   * The client timeout of the next attempt: mostly `clientTimeoutMs`, but a share `shortTimeoutShare` of attempts
   * gives up after 1 to 20 ms, while the server may still store the event, so that retries of timed-out requests
   * (possibly racing their first attempt) happen in every cycle.
   */
  timeoutMs(): number {
    const roll = randomInt(this.random, 1000) / 1000;
    if (roll < this.settings.shortTimeoutShare) return 1 + randomInt(this.random, 20);
    return this.settings.clientTimeoutMs;
  }

  /** Entries whose fate is still open. */
  pending(): number {
    return this.retryQueue.length;
  }

  /** Records the answer to one attempt. */
  record(entry: LedgerEntry, outcome: SendOutcome): void {
    this.counters.requests += 1;
    if (outcome.kind === 'failed') {
      if (outcome.isTimeout) this.counters.timeouts += 1;
      else this.counters.connectionFailures += 1;
      this.retryLater(entry);
      return;
    }
    const { status, code } = outcome;
    const where = `${entry.kind} event ${entry.id} (attempt ${entry.attempts})`;
    if (status === 429 || status === 503) {
      this.counters.busy += 1;
      this.retryLater(entry);
    } else if (entry.kind === 'invalid') {
      if (status === 400 || status === 413) {
        this.counters.rejected += 1;
        entry.fate = 'rejected';
      } else this.violations.push(`${where}: answered ${status} ${code}, not a 4xx`);
    } else if (status === 202) {
      this.counters.accepted += 1;
      entry.fate = 'acked';
    } else if (status === 409 && code === 'AEV_EVENT_ID_DUPLICATE' && entry.attempts > 1) {
      this.counters.duplicatesOnRetry += 1;
      entry.fate = 'acked';
    } else this.violations.push(`${where}: answered ${status} ${code}`);
  }

  private retryLater(entry: LedgerEntry): void {
    if (entry.fate === 'unsent') entry.fate = 'unknown';
    this.retryQueue.push(entry);
  }
}

/** How the clients behave. */
export interface LoadSettings {
  /** Part of every id, so that two runs never share one. */
  readonly runId: string;
  readonly principals: readonly string[];
  /** `occurred_at` lies in `[baseMs, baseMs + spreadMs)`. */
  readonly baseMs: number;
  readonly spreadMs: number;
  /** The share of invalid events, 0 to 1. */
  readonly invalidShare: number;
  /** Client timeout per request. */
  readonly clientTimeoutMs: number;
  /** The share of attempts, 0 to 1, that time out after 1 to 20 ms instead. */
  readonly shortTimeoutShare: number;
}

/** A uniform integer in `[0, n)`. */
export function randomInt(random: Random, n: number): number {
  return random.nextUint32() % n;
}

function createEntry(id: string, random: Random, settings: LoadSettings): LedgerEntry {
  const principal = settings.principals[randomInt(random, settings.principals.length)] ?? 'p0';
  const occurredAt = formatUtcTimestamp(settings.baseMs + randomInt(random, settings.spreadMs));
  const roll = randomInt(random, 1000) / 1000;
  const base = { id, principal_id: principal, occurred_at: occurredAt };
  if (roll < settings.invalidShare) {
    return entry(id, 'invalid', principal, invalidBody(base, randomInt(random, 4)));
  }
  if (randomInt(random, 2) === 0)
    return entry(id, 'count', principal, { ...base, type: 'api.request', data: {} });
  // Whole and fractional token counts, so that the sums exercise exact decimals.
  const tokens =
    randomInt(random, 3) === 0 ? `${randomInt(random, 100_000) / 100}` : randomInt(random, 5000);
  return entry(id, 'sum', principal, { ...base, type: 'llm.call', data: { tokens } });
}

/** One of four ways to be invalid; each must get a 400 and be stored never. */
function invalidBody(
  base: { id: string; principal_id: string; occurred_at: string },
  variant: number,
): Record<string, unknown> {
  switch (variant) {
    case 0: // the sum rule's field is not numeric
      return { ...base, type: 'llm.call', data: { tokens: 'many' } };
    case 1: // a timestamp without a zone
      return {
        ...base,
        occurred_at: base.occurred_at.replace('Z', ''),
        type: 'api.request',
        data: {},
      };
    case 2: // no principal
      return { id: base.id, occurred_at: base.occurred_at, type: 'api.request', data: {} };
    default: // an unknown field
      return { ...base, type: 'api.request', data: {}, extra: true };
  }
}

function entry(
  id: string,
  kind: EventKind,
  principal: string,
  body: Record<string, unknown>,
): LedgerEntry {
  return { id, kind, principal, body, fate: 'unsent', attempts: 0 };
}

/** The answer to one attempt: an HTTP status (with the problem's code), or a client-side failure. */
export type SendOutcome =
  | { readonly kind: 'answered'; readonly status: number; readonly code: string }
  | { readonly kind: 'failed'; readonly isTimeout: boolean };

/** Sends one attempt of an entry. */
export async function sendEvent(
  url: string,
  entry: LedgerEntry,
  clientTimeoutMs: number,
): Promise<SendOutcome> {
  entry.attempts += 1;
  try {
    const response = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(entry.body),
      signal: AbortSignal.timeout(clientTimeoutMs),
    });
    const text = await response.text();
    let code = '';
    if (response.status !== 202) {
      const parsed = JSON.parse(text) as { code?: unknown };
      code = typeof parsed.code === 'string' ? parsed.code : '';
    }
    return { kind: 'answered', status: response.status, code };
  } catch (error) {
    const name = (error as { name?: unknown }).name;
    return { kind: 'failed', isTimeout: name === 'TimeoutError' || name === 'AbortError' };
  }
}

/**
 * Runs `concurrency` clients against `url` until `isStopped()` turns true: each takes the next entry, sends it and
 * records the answer. Resolves once every client has finished its last request.
 */
export async function driveLoad(
  url: string,
  ledger: Ledger,
  options: { concurrency: number; isStopped: () => boolean },
): Promise<void> {
  const client = async (): Promise<void> => {
    while (!options.isStopped()) {
      const entry = ledger.take();
      ledger.record(entry, await sendEvent(url, entry, ledger.timeoutMs()));
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, client));
}
