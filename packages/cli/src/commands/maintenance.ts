import type { Clock, EventStore } from '@aevon/core';
import {
  AevonError,
  bucketWidthMs,
  createEventStore,
  dayRollupWidthMs,
  formatUtcTimestamp,
} from '@aevon/core';
import type { BucketDifference, MaintenanceProgress, Rule } from '@aevon/engine';
import { loadRules, rebuildRule, verifyState } from '@aevon/engine';
import type { AevonConfig } from '../config/config.js';
import { createCryptoRandom } from '../crypto-random.js';
import { exitCodes } from '../exit-codes.js';
import type { CliEnvironment } from '../main.js';
import type { OpenedStorage } from '../open-storage.js';
import { openStorage } from '../open-storage.js';
import { createSystemClock } from '../system-clock.js';

/** Options of `aevon verify`. */
export interface VerifyCommandOptions {
  readonly rule?: string;
  readonly principal?: string;
}

/** Milliseconds between two progress lines when stderr is not a terminal. */
const progressLineIntervalMs = 1_000;

/**
 * `aevon verify [--rule R] [--principal P]`: recomputes the selected pre-aggregates from the log and compares them
 * with the stored ones (see `verifyState`). Prints a summary and the first differences; exits 0 when there is none
 * and {@link exitCodes.verifyFailed} otherwise. Safe while a server runs: it only reads.
 * @throws AEV_RULE_UNKNOWN for a `--rule` not in the configuration; AEV_CONFIG_INVALID; AEV_STORAGE_UNAVAILABLE.
 */
export async function runVerify(
  config: AevonConfig,
  environment: CliEnvironment,
  options: VerifyCommandOptions,
): Promise<number> {
  const rules = selectRules(await loadRules(config.aggregationConfigDir), options.rule);
  return withStore(config, async (store, opened, clock) => {
    const progress = progressReporter(environment, clock, 'verify');
    const report = await verifyState({
      store,
      metering: opened.metering,
      rules,
      ...(options.principal === undefined ? {} : { principalId: options.principal }),
      onProgress: progress.update,
    });
    progress.done();
    const scope =
      options.principal === undefined ? '' : ` of principal ${JSON.stringify(options.principal)}`;
    const at =
      report.checkpoint === null ? 'before the first sweep' : `at checkpoint ${report.checkpoint}`;
    environment.stdout(
      `aevon: verified ${report.rules.length} rule(s) (${report.rules.join(', ')})${scope} ${at}: ` +
        `${report.eventsRead} events read, ${report.bucketsStored} buckets stored, ` +
        `${report.bucketsExpected} expected, ${report.rollupsStored} rollups stored, ` +
        `${report.rollupsExpected} expected, ${report.differenceCount} difference(s)`,
    );
    for (const difference of report.differences) environment.stdout(formatDifference(difference));
    if (report.differenceCount > report.differences.length) {
      environment.stdout(`  ... and ${report.differenceCount - report.differences.length} more`);
    }
    if (report.differenceCount === 0) return exitCodes.ok;
    environment.stderr(
      `aevon: verify found ${report.differenceCount} difference(s); repair with aevon rebuild --rule R`,
    );
    return exitCodes.verifyFailed;
  });
}

/**
 * `aevon rebuild --rule R`: rebuilds one rule's pre-aggregates from the log with the rule as configured now (see
 * `rebuildRule`), printing progress with an ETA on stderr. Safe while a server runs: readers keep exact answers.
 * @throws AEV_RULE_UNKNOWN; AEV_CONFIG_INVALID; AEV_STORAGE_UNAVAILABLE; AEV_OVERLOADED when the live sweep
 *   keeps moving the checkpoint.
 */
export async function runRebuild(
  config: AevonConfig,
  environment: CliEnvironment,
  ruleName: string,
): Promise<number> {
  const [rule] = selectRules(await loadRules(config.aggregationConfigDir), ruleName);
  if (rule === undefined) throw new AevonError('AEV_RULE_UNKNOWN', { rule: ruleName });
  return withStore(config, async (store, opened, clock) => {
    const progress = progressReporter(environment, clock, `rebuild ${rule.name}`);
    const startedMs = clock.nowMs();
    const report = await rebuildRule({
      store,
      metering: opened.metering,
      rule,
      onProgress: progress.update,
    });
    progress.done();
    const seconds = Math.max(clock.nowMs() - startedMs, 1) / 1000;
    const at = report.checkpoint === null ? 'nothing swept yet' : `checkpoint ${report.checkpoint}`;
    environment.stdout(
      `aevon: rebuilt rule ${rule.name} from ${report.eventsRead} events in ${seconds.toFixed(1)} s ` +
        `(${at}, ${report.catchUps} catch-up(s) with the running sweep)`,
    );
    return exitCodes.ok;
  });
}

function selectRules(rules: readonly Rule[], name: string | undefined): readonly Rule[] {
  if (name === undefined) return rules;
  const rule = rules.find((candidate) => candidate.name === name);
  if (rule === undefined) throw new AevonError('AEV_RULE_UNKNOWN', { rule: name });
  return [rule];
}

async function withStore(
  config: AevonConfig,
  body: (store: EventStore, opened: OpenedStorage, clock: Clock) => Promise<number>,
): Promise<number> {
  const opened = await openStorage(config.database);
  const clock = createSystemClock();
  const store = createEventStore({ storage: opened.storage, clock, random: createCryptoRandom() });
  try {
    return await body(store, opened, clock);
  } finally {
    await opened.metering.close();
    await store.close();
  }
}

function formatDifference(difference: BucketDifference): string {
  const show = (side: BucketDifference['expected']): string =>
    side === null ? 'none' : `${side.value} (${side.eventCount} events)`;
  return (
    `  ${difference.rule} ${JSON.stringify(difference.principalId)} ` +
    `${formatUtcTimestamp(difference.bucketStartMs)}${rollupLabel(difference.widthMs)}: ` +
    `stored ${show(difference.stored)}, ` +
    `expected ${show(difference.expected)}`
  );
}

/** ` (1h rollup)` or ` (1d rollup)` after a rollup's start; nothing for a 1-minute bucket. */
function rollupLabel(widthMs: number): string {
  if (widthMs === bucketWidthMs) return '';
  return widthMs === dayRollupWidthMs ? ' (1d rollup)' : ' (1h rollup)';
}

interface ProgressReporter {
  readonly update: (progress: MaintenanceProgress) => void;
  readonly done: () => void;
}

/**
 * Progress on stderr: a bar redrawn in place on a terminal (`environment.progress`), else one line a second and
 * a last one at the end.
 * The ETA extrapolates the rate so far over the events left.
 */
function progressReporter(
  environment: CliEnvironment,
  clock: Clock,
  label: string,
): ProgressReporter {
  const startedMs = clock.nowMs();
  let lastLineMs = startedMs;
  let last: MaintenanceProgress | null = null;
  const render = (progress: MaintenanceProgress): string => {
    const elapsedMs = Math.max(clock.nowMs() - startedMs, 1);
    const rate = Math.round((progress.eventsRead * 1000) / elapsedMs);
    const { eventsRead, eventsTotal } = progress;
    if (eventsTotal === null || eventsTotal === 0) {
      return `aevon: ${label}: ${eventsRead} events, ${rate} ev/s`;
    }
    const fraction = Math.min(eventsRead / eventsTotal, 1);
    const width = 30;
    const filled = Math.round(fraction * width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    const etaSeconds = rate > 0 ? Math.ceil((eventsTotal - eventsRead) / rate) : null;
    const eta = etaSeconds === null ? '?' : `${etaSeconds}s`;
    return (
      `aevon: ${label}: ${bar} ${Math.floor(fraction * 100)}% ${eventsRead}/${eventsTotal} events, ` +
      `${rate} ev/s, ETA ${eta}`
    );
  };
  return {
    update: (progress) => {
      last = progress;
      if (environment.progress !== undefined) {
        environment.progress(render(progress));
        return;
      }
      if (clock.nowMs() - lastLineMs < progressLineIntervalMs) return;
      lastLineMs = clock.nowMs();
      environment.stderr(render(progress));
    },
    done: () => {
      if (last === null) return;
      if (environment.progress !== undefined) environment.progress(null);
      else environment.stderr(render(last));
    },
  };
}
