// The contract between the metering engine (@aevon/engine) and its callers (server, cli). Written first so that both
// sides can be built at once; the engine's index.ts re-exports these types.
import type {
  Clock,
  CommitSignal,
  EventStore,
  MeteringStore,
  NamedSubscriptionStore,
  SubscriptionMessage,
} from '@aevon/core';
import type { NamedSubscriptions } from './named-subscriptions.js';
import type { SubscriptionRequest } from './subscriptions.js';

/** The aggregation operators of a rule. */
export type RuleOperator = 'count' | 'sum' | 'min' | 'max';

/** A metering rule, as loaded from `aggregation.config_dir/*.yaml`. */
export interface Rule {
  readonly name: string;
  /** The event `type` the rule folds. */
  readonly sourceEvent: string;
  readonly operator: RuleOperator;
  /** For sum/min/max: a dot path into the event's `data` (`tokens.input`). Absent for count. */
  readonly field?: string;
}

/** Query granularities of `GET /v1/state`. */
export type Granularity = 'total' | '1m' | '1h' | '1d';

/** One window of a state response, field for field as the seed specifies. */
export interface StateWindow {
  readonly window_start: string;
  readonly window_end: string;
  /** Exact decimal as a string; null for min/max over a window with no events. */
  readonly value: string | null;
  readonly event_count: number;
}

/** The body of `GET /v1/state/{principal_id}`, field for field as the seed specifies. */
export interface StateResponse {
  readonly principal_id: string;
  readonly rule: string;
  readonly operator: RuleOperator;
  readonly start: string;
  readonly end: string;
  readonly granularity: Granularity;
  readonly data_through: string;
  readonly staleness_seconds: number;
  readonly values: readonly StateWindow[];
}

/** Raw query parameters, unvalidated (as they arrive over HTTP). */
export interface StateQueryInput {
  readonly principalId: string;
  readonly rule?: unknown;
  readonly start?: unknown;
  readonly end?: unknown;
  readonly granularity?: unknown;
}

/** One event's outcome in a batch ingest. */
export type BatchItemResult =
  | { readonly id: string | null; readonly status: 'accepted' }
  | {
      readonly id: string | null;
      readonly status: 'duplicate';
      readonly code: 'AEV_EVENT_ID_DUPLICATE';
      readonly detail: string;
    }
  | {
      readonly id: string | null;
      readonly status: 'rejected';
      readonly code: string;
      readonly detail: string;
    };

/** The metering runtime: ingestion, the sweep scheduler and the read path, on one event store. */
export interface MeteringEngine {
  readonly rules: ReadonlyMap<string, Rule>;
  /**
   * Validates one envelope (the parsed JSON body of `POST /v1/events`) and appends it; resolves once durable.
   * @throws AevonError AEV_REQUEST_INVALID / AEV_SCHEMA_VALIDATION_FAILED (400), AEV_EVENT_ID_DUPLICATE (409),
   *   AEV_EVENT_DATA_TOO_LARGE (413), AEV_OVERLOADED (429), AEV_STORAGE_UNAVAILABLE (503).
   */
  ingest(body: unknown): Promise<void>;
  /** Validates and appends many envelopes; each gets its own result, in input order. */
  ingestBatch(bodies: readonly unknown[]): Promise<readonly BatchItemResult[]>;
  /** Answers a state query. @throws AEV_REQUEST_INVALID or AEV_RULE_UNKNOWN (400). */
  queryState(query: StateQueryInput): Promise<StateResponse>;
  /** Runs one sweep now (folds every event after the checkpoint); returns how many events it folded. */
  sweep(): Promise<number>;
  /** Starts the periodic scheduler (every `cronIntervalMs`). */
  start(): void;
  /**
   * Opens a catch-up subscription on the log (history, then live; see core's `subscribe`): validated first, so a bad
   * request rejects here. It ends when `signal` aborts or the engine closes.
   * @throws AEV_REQUEST_INVALID.
   */
  openSubscription(
    request: SubscriptionRequest,
    signal: AbortSignal,
  ): Promise<AsyncIterable<SubscriptionMessage>>;
  /**
   * Durable named subscriptions: definitions and checkpoints kept in {@link MeteringEngineOptions.namedSubscriptions},
   * opened from their checkpoint; they end when the engine closes.
   */
  readonly namedSubscriptions: NamedSubscriptions;
  /** Checks the database answers (readiness). @throws AEV_STORAGE_UNAVAILABLE. */
  ready(): Promise<void>;
  /**
   * Stops the scheduler after a final sweep of at most `shutdownSweepMs` (whatever it leaves is folded after the
   * next start: every page commits with its checkpoint), drains appends, closes the store.
   */
  close(): Promise<void>;
}

/** What {@link createMeteringEngine} needs. */
export interface MeteringEngineOptions {
  readonly store: EventStore;
  readonly clock: Clock;
  readonly rules: readonly Rule[];
  /** JSON Schemas by event type and version, for `schema_version > 0`. */
  readonly schemas: ReadonlyMap<string, ReadonlyMap<number, object>>;
  readonly cronIntervalMs: number;
  /** Where the pre-aggregates and the sweep checkpoint live, on the same database as `store`. */
  readonly metering: MeteringStore;
  /**
   * Called when a scheduled sweep fails (storage down, say); the scheduler keeps its interval and retries. Default:
   * ignore. A programmer error (AssertionError) is reported here too and stops the scheduler.
   */
  readonly onSweepError?: (error: unknown) => void;
  /**
   * The longest the final sweep of `close()` may run, so that a large backlog does not outlast a supervisor's grace
   * period (SIGTERM then SIGKILL). Default: {@link shutdownSweepMsDefault}.
   */
  readonly shutdownSweepMs?: number;
  /** How often a live subscription re-reads the log without a wake-up. Default: 250 ms. */
  readonly subscriptionPollMs?: number;
  /**
   * Where named subscriptions and their checkpoints live, on the same database as `store` (closed with the engine).
   * Default: an in-memory store, which forgets them on restart: the CLI always passes the database's.
   */
  readonly namedSubscriptions?: NamedSubscriptionStore;
  /**
   * Signals that wake live subscriptions besides the store's own commits, such as `@aevon/postgres`'s append
   * listener (LISTEN/NOTIFY), which announces appends of other processes. Hints only: every read still goes through
   * the ordered log, and the poll stays. The engine does not close them. Default: none.
   */
  readonly subscriptionWakeSources?: readonly CommitSignal[];
}

/** 10 s: well inside the 30 s grace period most supervisors give between SIGTERM and SIGKILL. */
export const shutdownSweepMsDefault = 10_000;
