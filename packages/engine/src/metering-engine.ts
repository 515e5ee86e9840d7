import { clearTimeout, setTimeout as startTimer } from 'node:timers';
import type { AppendResult } from '@aevon/core';
import {
  AevonError,
  AssertionError,
  assert,
  createInMemoryNamedSubscriptionStore,
  invalidRequest,
  isAevonError,
} from '@aevon/core';
import { createNamedSubscriptions } from './named-subscriptions.js';
import type { BatchItemResult, MeteringEngine, MeteringEngineOptions, Rule } from './contract.js';
import { shutdownSweepMsDefault } from './contract.js';
import type { EnvelopeContext } from './envelope.js';
import { validateEnvelope } from './envelope.js';
import { compileSchemas } from './schema-validator.js';
import { buildStateResponse, parseStateQuery } from './state-query.js';
import type { SweepOptions, SweepReport } from './sweeper.js';
import { runSweep } from './sweeper.js';
import {
  createAppendWaiter,
  openSubscription,
  subscriptionPollMsDefault,
} from './subscriptions.js';

/** Events per log page a sweep reads (capped by the store's read page maximum). */
export const sweepPageEventsDefault = 1_000;
/** Pages one sweep folds at most before it yields to the next tick. */
export const sweepPagesMax = 10_000;

/**
 * Creates the metering runtime on an event store and a metering store (see {@link MeteringEngine}).
 *
 * - Ingestion validates each envelope ({@link validateEnvelope}) and appends it to stream `principals/<id>` on its
 *   own, so that concurrent requests coalesce into group commits and each succeeds or fails alone.
 * - The scheduler ({@link MeteringEngine.start}) sweeps every `cronIntervalMs` (first run one interval after
 *   start); a failed sweep is reported to `onSweepError` and retried at the next tick; an AssertionError stops it.
 * - The read path merges pre-aggregates with the raw tail in one consistent snapshot.
 * @throws AEV_CONFIG_INVALID when a schema does not compile or two rules share a name.
 */
export function createMeteringEngine(options: MeteringEngineOptions): MeteringEngine {
  const { store, metering, clock } = options;
  assert(
    Number.isSafeInteger(options.cronIntervalMs) && options.cronIntervalMs > 0,
    'cronIntervalMs is positive',
  );
  const rules = indexRules(options.rules);
  const rulesByType = new Map<string, Rule[]>();
  for (const rule of rules.values())
    rulesByType.set(rule.sourceEvent, [...(rulesByType.get(rule.sourceEvent) ?? []), rule]);
  const context: EnvelopeContext = {
    limits: store.limits,
    rulesByType,
    validateData: compileSchemas(options.schemas),
  };
  const pageEvents = Math.min(sweepPageEventsDefault, store.limits.readPageEventsMax);
  const ruleList = [...rules.values()];
  let chain: Promise<unknown> = Promise.resolve();
  let timer: ReturnType<typeof startTimer> | null = null;
  let isStarted = false;
  let isClosed = false;
  let closing: Promise<void> | null = null;
  // Ends every open subscription when the engine closes.
  const closed = new AbortController();
  const waiter = createAppendWaiter(
    store.commits,
    options.subscriptionPollMs ?? subscriptionPollMsDefault,
    options.subscriptionWakeSources,
  );
  const namedSubscriptionStore =
    options.namedSubscriptions ?? createInMemoryNamedSubscriptionStore();
  const namedSubscriptions = createNamedSubscriptions({
    store,
    subscriptions: namedSubscriptionStore,
    waiter,
    clock,
  });

  const sweepReport = (deadline?: SweepOptions['deadline']): Promise<SweepReport> => {
    const run = chain.then(() =>
      runSweep({
        store,
        metering,
        rules: ruleList,
        pageEvents,
        pagesMax: sweepPagesMax,
        ...(deadline === undefined ? {} : { deadline }),
      }),
    );
    chain = run.catch(() => undefined);
    return run;
  };

  const tick = async (): Promise<void> => {
    timer = null;
    try {
      await sweepReport();
    } catch (error) {
      options.onSweepError?.(error);
      if (error instanceof AssertionError) return;
    }
    if (!isClosed) schedule();
  };
  // The scheduler's period is real time by nature; only the interval timer comes from Node, and tests drive the
  // engine through sweep() instead, so that no test sleeps.
  const schedule = (): void => {
    timer = startTimer(() => void tick(), options.cronIntervalMs);
    timer.unref();
  };

  const append = (
    stream: string,
    event: Parameters<typeof store.append>[1][number],
  ): Promise<AppendResult> => {
    if (isClosed)
      throw new AevonError('AEV_STORAGE_UNAVAILABLE', { reason: 'the engine is closing' });
    return store.append(stream, [event]);
  };

  return {
    rules,
    ingest: async (body) => {
      const valid = validateEnvelope(body, context);
      await append(valid.stream, valid.event);
    },
    ingestBatch: async (bodies) => {
      if (!Array.isArray(bodies)) throw invalidRequest('must be an array of events', 'events');
      if (bodies.length > store.limits.appendEventsMax) {
        throw new AevonError('AEV_APPEND_BATCH_TOO_LARGE', {
          count: bodies.length,
          max: store.limits.appendEventsMax,
        });
      }
      return Promise.all(bodies.map((body: unknown) => ingestItem(body, context, append)));
    },
    queryState: async (input) => {
      const query = parseStateQuery(input, rules, store.limits);
      const snapshot = await metering.readState({
        rule: query.rule.name,
        sourceEvent: query.rule.sourceEvent,
        principalId: query.principalId,
        fromMs: query.fromMs,
        toMs: query.toMs,
        granularity: query.granularity,
      });
      return buildStateResponse(query, snapshot, clock.nowMs());
    },
    sweep: async () => (await sweepReport()).folded,
    openSubscription: (request, signal) =>
      openSubscription(store, waiter, request, AbortSignal.any([signal, closed.signal])),
    namedSubscriptions: {
      ...namedSubscriptions,
      open: (name, open, signal) =>
        namedSubscriptions.open(name, open, AbortSignal.any([signal, closed.signal])),
    },
    start: () => {
      if (isStarted || isClosed) return;
      isStarted = true;
      schedule();
    },
    ready: async () => {
      try {
        await store.headPosition();
      } catch (error) {
        if (isAevonError(error) || error instanceof AssertionError) throw error;
        throw new AevonError(
          'AEV_STORAGE_UNAVAILABLE',
          { reason: 'the database does not answer' },
          { cause: error },
        );
      }
    },
    close: () => {
      closing ??= (async () => {
        isClosed = true;
        closed.abort();
        if (timer !== null) clearTimeout(timer);
        timer = null;
        try {
          const shutdownSweepMs = options.shutdownSweepMs ?? shutdownSweepMsDefault;
          await sweepReport({ clock, atMs: clock.nowMs() + shutdownSweepMs });
        } catch (error) {
          options.onSweepError?.(error);
        } finally {
          await metering.close();
          await namedSubscriptionStore.close();
          await store.close();
        }
      })();
      return closing;
    },
  };
}

function indexRules(list: readonly Rule[]): ReadonlyMap<string, Rule> {
  const rules = new Map<string, Rule>();
  for (const rule of list) {
    if (rules.has(rule.name)) {
      throw new AevonError('AEV_CONFIG_INVALID', {
        reason: `rule name ${JSON.stringify(rule.name)} is used twice`,
      });
    }
    rules.set(rule.name, rule);
  }
  return rules;
}

/** Validates and appends one batch item; operating errors become its result, programmer errors propagate. */
async function ingestItem(
  body: unknown,
  context: EnvelopeContext,
  append: (
    stream: string,
    event: ReturnType<typeof validateEnvelope>['event'],
  ) => Promise<AppendResult>,
): Promise<BatchItemResult> {
  const id =
    typeof body === 'object' && body !== null && typeof (body as { id?: unknown }).id === 'string'
      ? (body as { id: string }).id
      : null;
  try {
    const valid = validateEnvelope(body, context);
    await append(valid.stream, valid.event);
    return { id, status: 'accepted' };
  } catch (error) {
    if (isAevonError(error, 'AEV_EVENT_ID_DUPLICATE')) {
      return { id, status: 'duplicate', code: 'AEV_EVENT_ID_DUPLICATE', detail: error.message };
    }
    if (isAevonError(error))
      return { id, status: 'rejected', code: error.code, detail: error.message };
    throw error;
  }
}
