// The crash harness (docs/reliability.md): kill -9 `aevon serve` at random moments, under concurrent ingest and in
// the middle of a sweep, restart it, and check after every kill, on the database itself, that nothing acknowledged
// was lost or stored twice, that nothing rejected was stored, and that the pre-aggregates are exactly the fold of the
// log up to the stored checkpoint. Sizes and the seed come from AEVON_CRASH_* variables (crashSettingsFromEnv).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RecordedEvent } from '@aevon/core';
import { createSeededRandom } from '@aevon/core';
import type { Rule } from '@aevon/engine';
import { loadRules } from '@aevon/engine';
import type { CheckRange, CrashTarget, DirectDatabase } from './crash-checks.js';
import {
  checkBucketsMatchCheckpoint,
  checkStateAnswers,
  lastPosition,
  openDirect,
  readLog,
} from './crash-checks.js';
import type { Ledger as LedgerType } from './crash-load.js';
import { Ledger, driveLoad, randomInt, sendEvent } from './crash-load.js';
import type { CrashServer } from './crash-server.js';
import { killDuringStartup, startCrashServer, writeCrashWorkdir } from './crash-server.js';

/** The harness's sizes; CI uses the defaults, the long mode (`npm run test:crash`) raises them. */
export interface CrashSettings {
  /** Kill/restart cycles under ingest, per engine (AEVON_CRASH_CYCLES, default 20). */
  readonly cycles: number;
  /** Concurrent clients (AEVON_CRASH_CONCURRENCY, default 8). */
  readonly concurrency: number;
  /** The seed of every random choice (AEVON_CRASH_SEED, default: drawn, and printed). */
  readonly seed: number;
  /** Events in the sweep test's backlog (AEVON_CRASH_BACKLOG, default 20000). */
  readonly backlogEvents: number;
  /** Most kills during the backlog's sweep (AEVON_CRASH_SWEEP_KILLS, default 5). */
  readonly sweepKills: number;
}

/** Reads the settings from AEVON_CRASH_* variables. */
export function crashSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): CrashSettings {
  const integer = (name: string, fallback: number): number => {
    const text = env[name];
    if (text === undefined || text === '') return fallback;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < 0)
      throw new Error(`${name}=${text}: not an integer`);
    return value;
  };
  return {
    cycles: integer('AEVON_CRASH_CYCLES', 20),
    concurrency: integer('AEVON_CRASH_CONCURRENCY', 8),
    seed: integer('AEVON_CRASH_SEED', (performance.timeOrigin * 1000 + process.pid) % 2 ** 31),
    backlogEvents: integer('AEVON_CRASH_BACKLOG', 20_000),
    sweepKills: integer('AEVON_CRASH_SWEEP_KILLS', 5),
  };
}

const principals = ['p0', 'p1', 'p2', 'team/3', 'user 4'] as const;
const baseMs = Date.UTC(2026, 1, 11, 10, 0);
/** `occurred_at` spreads over 20 minutes; the checks cover the whole hour. */
const spreadMs = 20 * 60_000;
const range: CheckRange = { fromMs: baseMs, toMs: baseMs + 3_600_000 };
const clientTimeoutMs = 1_500;

/** What an ingest crash run observed, for the summary line. */
export interface IngestCrashSummary {
  readonly engine: string;
  readonly seed: number;
  readonly cycles: number;
  readonly kills: number;
  /** Extra kills while a server was starting (before it was ready). */
  readonly startupKills: number;
  readonly requests: number;
  readonly acknowledged: number;
  readonly duplicatesOnRetry: number;
  readonly rejected: number;
  readonly retries: number;
  readonly timeouts: number;
  readonly connectionFailures: number;
  /** Events whose attempts had all failed in flight at a kill and that a check found stored anyway. */
  readonly unknownFoundStored: number;
  readonly storedEvents: number;
  readonly stateQueries: number;
  /** Kills after which the checkpoint lay behind the head (the sweep had work left). */
  readonly killsBehindHead: number;
}

/** A temporary working directory with the harness's rules, and the rules as the engine loads them. */
async function prepareWorkdir(): Promise<{ workdir: string; rules: readonly Rule[] }> {
  const workdir = mkdtempSync(join(tmpdir(), 'aevon-crash-'));
  writeCrashWorkdir(workdir);
  return { workdir, rules: await loadRules(join(workdir, 'rules')) };
}

/**
 * The ingest crash test: `settings.cycles` times, start the server (sweeping every 200 ms), drive concurrent ingest
 * for a random time, kill -9 it, and check the database; between cycles, check the state answers of the restarted
 * server against the log. At the end, resolve every in-flight event by retrying it, let the sweep reach the head,
 * and check again.
 * @throws Error describing the first broken invariant.
 */
export async function runIngestCrash(
  target: CrashTarget,
  settings: CrashSettings,
): Promise<IngestCrashSummary> {
  const { workdir, rules } = await prepareWorkdir();
  const random = createSeededRandom(settings.seed);
  const ledger = new Ledger(random, {
    runId: settings.seed.toString(36),
    principals,
    baseMs,
    spreadMs,
    invalidShare: 0.1,
    clientTimeoutMs,
    shortTimeoutShare: 0.05,
  });
  const server = { dsn: target.dsn, workdir, cronInterval: '200ms' };
  let kills = 0;
  let startupKills = 0;
  let stateQueries = 0;
  let killsBehindHead = 0;
  const unknownFoundStored = new Set<string>();
  let events: RecordedEvent[] = [];
  try {
    for (let cycle = 0; cycle < settings.cycles; cycle += 1) {
      // The first cycle, and one in five after it, first kills a server while it starts (opening or migrating the
      // database, listening, sweeping its first page). The first one may leave no schema yet: the next start must
      // still succeed.
      if (cycle === 0 || randomInt(random, 5) === 0) {
        await killDuringStartup(server, randomInt(random, 600));
        startupKills += 1;
        if (cycle > 0) events = (await checkAfterCrash(target, ledger, rules)).events;
      }
      const running = await startCrashServer(server);
      stateQueries += await checkStateAnswers(running.url, events, rules, principals, range);
      await loadThenKill(running, ledger, settings.concurrency, 50 + randomInt(random, 500));
      kills += 1;
      const checked = await checkAfterCrash(target, ledger, rules);
      events = checked.events;
      for (const id of checked.unknownStored) unknownFoundStored.add(id);
      if (checked.report.checkpoint !== checked.report.head) killsBehindHead += 1;
    }
    const running = await startCrashServer(server);
    await resolvePending(running.url, ledger);
    const direct = await openDirect(target, { isAfterKill: false });
    try {
      await waitForSweepToHead(direct);
      events = await readLog(direct.store, principals);
    } finally {
      await direct.close();
    }
    stateQueries += await checkStateAnswers(running.url, events, rules, principals, range);
    const exitCode = await running.stop();
    if (exitCode !== 0) throw new Error(`aevon serve exited ${exitCode}:\n${running.output()}`);
    const final = await checkAfterCrash(target, ledger, rules, { isFinal: true });
    if (final.report.checkpoint !== final.report.head)
      throw new Error('the sweep did not reach the head before the shutdown');
    const c = ledger.counters;
    return {
      engine: target.engine,
      seed: settings.seed,
      cycles: settings.cycles,
      kills,
      startupKills,
      requests: c.requests,
      acknowledged: c.accepted + c.duplicatesOnRetry,
      duplicatesOnRetry: c.duplicatesOnRetry,
      rejected: c.rejected,
      retries: c.retries,
      timeouts: c.timeouts,
      connectionFailures: c.connectionFailures,
      unknownFoundStored: unknownFoundStored.size,
      storedEvents: final.events.length,
      stateQueries,
      killsBehindHead,
    };
  } finally {
    rmSync(workdir, { recursive: true, force: true });
  }
}

/** Drives the load for `loadMs`, then kills the server while requests are in flight, and waits for the clients. */
async function loadThenKill(
  running: CrashServer,
  ledger: LedgerType,
  concurrency: number,
  loadMs: number,
): Promise<void> {
  let isStopped = false;
  const load = driveLoad(running.url, ledger, {
    concurrency,
    isStopped: () => isStopped,
  });
  await sleep(loadMs);
  isStopped = true;
  await running.kill();
  await load;
  if (ledger.violations.length > 0)
    throw new Error(`answers that break the contract:\n${ledger.violations.join('\n')}`);
}

/**
 * Checks the database while no server runs: every id at most once; every acknowledged id exactly once, with the body
 * it was sent with; no rejected or invalid id; no id the harness never sent; buckets = fold up to the checkpoint.
 * With `isFinal`, every id's fate is settled and the log holds exactly the acknowledged ids.
 */
async function checkAfterCrash(
  target: CrashTarget,
  ledger: LedgerType,
  rules: readonly Rule[],
  options: { isFinal?: boolean } = {},
): Promise<{
  events: RecordedEvent[];
  report: Awaited<ReturnType<typeof checkBucketsMatchCheckpoint>>;
  unknownStored: readonly string[];
}> {
  const direct = await openDirect(target, { isAfterKill: true });
  try {
    const events = await readLog(direct.store, principals);
    const unknownStored = checkIds(events, ledger, options.isFinal ?? false);
    const report = await checkBucketsMatchCheckpoint(direct, events, rules, principals, range);
    return { events, report, unknownStored };
  } finally {
    await direct.close();
  }
}

/** @returns the ids whose fate is unknown (only in-flight failures) and that are stored. */
function checkIds(
  events: readonly RecordedEvent[],
  ledger: LedgerType,
  isFinal: boolean,
): string[] {
  const stored = new Map<string, RecordedEvent>();
  for (const event of events) {
    if (stored.has(event.id)) throw new Error(`event ${event.id} is stored twice`);
    stored.set(event.id, event);
    const entry = ledger.entries.get(event.id);
    if (entry === undefined) throw new Error(`event ${event.id} is stored but was never sent`);
    if (entry.kind === 'invalid' || entry.fate === 'rejected')
      throw new Error(`invalid event ${event.id} (fate ${entry.fate}) is stored`);
    const { body } = entry;
    const isSame =
      event.stream === `principals/${entry.principal}` &&
      event.type === body['type'] &&
      event.occurredAt === body['occurred_at'] &&
      JSON.stringify(event.data) === JSON.stringify(body['data']);
    if (!isSame) throw new Error(`event ${event.id} is stored as ${JSON.stringify(event)}`);
  }
  const unknownStored: string[] = [];
  for (const entry of ledger.entries.values()) {
    const isStored = stored.has(entry.id);
    if (entry.fate === 'acked' && !isStored)
      throw new Error(`acknowledged event ${entry.id} is missing after a crash`);
    if (entry.fate === 'unknown' && isStored) unknownStored.push(entry.id);
    if (isFinal && (entry.fate === 'unknown' || entry.fate === 'unsent'))
      throw new Error(`event ${entry.id} is still unresolved at the end`);
  }
  return unknownStored;
}

/** Retries every in-flight-failed event until each gets a final answer (202, 409 duplicate or 4xx). */
async function resolvePending(url: string, ledger: LedgerType): Promise<void> {
  for (let round = 0; ledger.pending() > 0; round += 1) {
    if (round > 100) throw new Error(`${ledger.pending()} events stay unresolved after 100 rounds`);
    const batch: ReturnType<LedgerType['take']>[] = [];
    while (ledger.pending() > 0) batch.push(ledger.take());
    for (const entry of batch) ledger.record(entry, await sendEvent(url, entry, 10_000));
  }
  if (ledger.violations.length > 0)
    throw new Error(`answers that break the contract:\n${ledger.violations.join('\n')}`);
}

/** Waits until the running server's sweep has folded the whole log (checkpoint = head). */
async function waitForSweepToHead(direct: DirectDatabase): Promise<void> {
  for (let attempt = 0; attempt < 3_000; attempt += 1) {
    const head = await lastPosition(direct.store, principals);
    if (head === null || (await direct.metering.loadCheckpoint()) === head) return;
    await sleep(20);
  }
  throw new Error('the sweep did not reach the head within 60 s');
}

/** What a sweep crash run observed. */
export interface SweepCrashSummary {
  readonly engine: string;
  readonly seed: number;
  readonly backlogEvents: number;
  readonly kills: number;
  /** Kills that left the checkpoint strictly between where that run started and the head. */
  readonly killsMidSweep: number;
  /** The checkpoint's progress at each kill, as events folded out of the backlog. */
  readonly foldedAtKills: readonly number[];
}

/**
 * The scheduler crash test: build a backlog with the scheduler idle (interval 1 h) and kill -9 that server; then
 * repeatedly start a server whose scheduler sweeps after 20 ms, kill -9 it a random moment after its checkpoint first
 * moves (so in the middle of the sweep), and check that the buckets are exactly the fold of the events up to the
 * stored checkpoint. Finally let a server sweep to the head and check the state answers against the log.
 * @throws Error describing the first broken invariant.
 */
export async function runSweepCrash(
  target: CrashTarget,
  settings: CrashSettings,
): Promise<SweepCrashSummary> {
  const { workdir, rules } = await prepareWorkdir();
  const random = createSeededRandom(settings.seed ^ 0x5eed);
  try {
    const idle = await startCrashServer({ dsn: target.dsn, workdir, cronInterval: '1h' });
    await ingestBacklog(idle.url, random, settings);
    await idle.kill();
    const server = { dsn: target.dsn, workdir, cronInterval: '20ms' };
    let kills = 0;
    let killsMidSweep = 0;
    const foldedAtKills: number[] = [];
    for (; kills < settings.sweepKills; kills += 1) {
      const direct = await openDirect(target, { isAfterKill: true });
      const before = await direct.metering.loadCheckpoint();
      const head = await lastPosition(direct.store, principals);
      if (before === head) {
        await direct.close();
        break;
      }
      const running = await startCrashServer(server);
      await waitForCheckpointToMove(direct, before);
      // A short random delay: a step folds up to 10 pages, and SQLite can fold a 10,000-event step in well under
      // 150 ms, so a longer delay often lands after the last step instead of in the middle of one.
      await sleep(randomInt(random, 40));
      await running.kill();
      await direct.close();
      const after = await openDirect(target, { isAfterKill: true });
      try {
        const events = await readLog(after.store, principals);
        const report = await checkBucketsMatchCheckpoint(after, events, rules, principals, range);
        foldedAtKills.push(report.foldedEvents);
        if (report.checkpoint !== before && report.checkpoint !== report.head) killsMidSweep += 1;
      } finally {
        await after.close();
      }
    }
    await finishSweep(target, server, rules);
    return {
      engine: target.engine,
      seed: settings.seed,
      backlogEvents: settings.backlogEvents,
      kills,
      killsMidSweep,
      foldedAtKills,
    };
  } finally {
    rmSync(workdir, { recursive: true, force: true });
  }
}

/** Posts the backlog in batches of 1000 through `POST /v1/events/batch`; every event must be accepted. */
async function ingestBacklog(
  url: string,
  random: ReturnType<typeof createSeededRandom>,
  settings: CrashSettings,
): Promise<void> {
  const ledger = new Ledger(random, {
    runId: `backlog-${settings.seed.toString(36)}`,
    principals,
    baseMs,
    spreadMs,
    invalidShare: 0,
    clientTimeoutMs,
    shortTimeoutShare: 0,
  });
  for (let sent = 0; sent < settings.backlogEvents; sent += 1000) {
    const count = Math.min(1000, settings.backlogEvents - sent);
    const bodies = Array.from({ length: count }, () => ledger.take().body);
    const response = await fetch(`${url}/v1/events/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(bodies),
      signal: AbortSignal.timeout(60_000),
    });
    const answer = (await response.json()) as { accepted?: unknown };
    if (response.status !== 200 || answer.accepted !== count)
      throw new Error(`the backlog batch answered ${response.status} ${JSON.stringify(answer)}`);
  }
}

async function waitForCheckpointToMove(
  direct: DirectDatabase,
  before: string | null,
): Promise<void> {
  for (let attempt = 0; attempt < 6_000; attempt += 1) {
    if ((await direct.metering.loadCheckpoint()) !== before) return;
    await sleep(5);
  }
  throw new Error('the sweep did not move the checkpoint within 30 s');
}

/** Lets a server sweep to the head, checks its state answers against the log, stops it, and checks the buckets. */
async function finishSweep(
  target: CrashTarget,
  server: { dsn: string; workdir: string; cronInterval: string },
  rules: readonly Rule[],
): Promise<void> {
  const running = await startCrashServer(server);
  const direct = await openDirect(target, { isAfterKill: false });
  let events: RecordedEvent[];
  try {
    await waitForSweepToHead(direct);
    events = await readLog(direct.store, principals);
  } finally {
    await direct.close();
  }
  await checkStateAnswers(running.url, events, rules, principals, range);
  const exitCode = await running.stop();
  if (exitCode !== 0) throw new Error(`aevon serve exited ${exitCode}:\n${running.output()}`);
  const after = await openDirect(target, { isAfterKill: true });
  try {
    const report = await checkBucketsMatchCheckpoint(after, events, rules, principals, range);
    if (report.checkpoint !== report.head) throw new Error('the sweep did not reach the head');
  } finally {
    await after.close();
  }
}

/** The one-line summary the test prints. */
export function formatSummary(summary: IngestCrashSummary | SweepCrashSummary): string {
  return Object.entries(summary)
    .map(([key, value]) => `${key}=${Array.isArray(value) ? value.join(',') : String(value)}`)
    .join(' ');
}
