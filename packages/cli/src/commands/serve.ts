import type { ApiKeyStore, Clock, Random } from '@aevon/core';
import { AevonError, createEventStore } from '@aevon/core';
import type { DefinitionsEngine, MeteringEngine } from '@aevon/engine';
import { createMeteringEngine, loadRules, loadSchemas } from '@aevon/engine';
import { createServer } from '@aevon/server';
import type { FastifyInstance } from 'fastify';
import { resolveApiKeyAuth } from '../api-key-auth-mode.js';
import type { AevonConfig } from '../config/config.js';
import { createCryptoRandom } from '../crypto-random.js';
import {
  exitCodeForError,
  exitCodes,
  forcedExitCodeBySignal,
  formatErrorLine,
} from '../exit-codes.js';
import type { CliEnvironment } from '../main.js';
import { loadConfiguredMigrations, openDefinitions, warningLines } from '../open-definitions.js';
import type { OpenedStorage } from '../open-storage.js';
import { openStorage } from '../open-storage.js';
import { createSystemClock } from '../system-clock.js';

/** Options of `aevon serve`. */
export interface ServeOptions {
  /** Apply pending migrations before serving (`--migrate`). */
  readonly migrate: boolean;
}

/**
 * `aevon serve`: wires storage, event store, metering engine and HTTP server, listens, starts the scheduler, and
 * resolves with the exit code once a SIGTERM or SIGINT has shut everything down (docs/reference/cli.md).
 * @throws AEV_CONFIG_INVALID, AEV_STORAGE_UNAVAILABLE, AEV_STORAGE_SCHEMA_MISMATCH when startup fails.
 */
export async function runServe(
  config: AevonConfig,
  environment: CliEnvironment,
  options: ServeOptions,
): Promise<number> {
  const clock = createSystemClock();
  const random = createCryptoRandom();
  // The engine is built before the server whose logger reports its failed sweeps.
  let onSweepError: (error: unknown) => void = () => undefined;
  let onListenError: (error: unknown) => void = () => undefined;
  const { engine, apiKeys, definitions } = await startEngine(config, {
    clock,
    random,
    migrate: options.migrate,
    environment,
    onSweepError: (error) => onSweepError(error),
    onListenError: (error) => onListenError(error),
  });
  const auth = await resolveApiKeyAuth(config, { store: apiKeys, clock }).catch(
    async (error: unknown) => {
      await engine.close().catch(() => undefined);
      throw error;
    },
  );
  let onProgrammerError: (error: Error) => void = () => undefined;
  const app = createServer({
    engine,
    definitions,
    ...(auth === undefined ? {} : { apiKeys: auth }),
    logger: { level: config.logLevel },
    requestsInFlightMax: config.serverLimits.requestsInFlightMax,
    stateQueriesInFlightMax: config.serverLimits.stateQueriesInFlightMax,
    requestTimeoutMs: config.serverLimits.requestTimeoutMs,
    requestIdPrefix: `${random.nextUint32().toString(16).padStart(8, '0')}-`,
    onProgrammerError: (error) => onProgrammerError(error),
  });
  const url = await listen(app, config).catch(async (error: unknown) => {
    await engine.close().catch(() => undefined);
    throw error;
  });
  onSweepError = (error) => {
    // A sweep that fails (the database is down, say) is retried at the next tick: log it so that an operator sees it.
    app.log.error({ err: error }, 'sweep failed; retrying at the next tick');
  };
  onListenError = (error) => {
    // Subscriptions fall back to their poll until the LISTEN connection is back.
    app.log.warn({ err: error }, 'LISTEN connection failed; reconnecting');
  };
  engine.start();
  environment.stdout(`aevon: listening on ${url}`);
  return new Promise<number>((resolve) => {
    const stop = createShutdown({ app, engine, environment, done: resolve });
    onProgrammerError = (error) => {
      environment.stderr(formatErrorLine(error));
      stop('programmer error', exitCodes.runtime);
    };
  });
}

async function startEngine(
  config: AevonConfig,
  context: {
    readonly clock: Clock;
    readonly random: Random;
    readonly migrate: boolean;
    readonly environment: CliEnvironment;
    readonly onSweepError: (error: unknown) => void;
    readonly onListenError: (error: unknown) => void;
  },
): Promise<{
  readonly engine: MeteringEngine;
  readonly apiKeys: ApiKeyStore;
  readonly definitions: DefinitionsEngine;
}> {
  // Rules, schemas and migrations first: a configuration mistake fails before the database is touched.
  const rules = await loadRules(config.aggregationConfigDir);
  const schemas = await loadSchemas(config.schemaPath);
  const migrations = await loadConfiguredMigrations(config);
  const opened = await openStorage(config.database, {
    migrate: context.migrate,
    // Live subscriptions hear of other processes' appends through LISTEN/NOTIFY (PostgreSQL).
    listen: true,
    onListenError: context.onListenError,
  });
  try {
    const store = createEventStore({
      storage: opened.storage,
      clock: context.clock,
      random: context.random,
      limits: { appendQueueBatchesMax: config.serverLimits.appendQueueMax },
      // Requests arrive from separate I/O callbacks: gather those of one event-loop turn into one group commit.
      scheduleGroupCommit: (start) => setImmediate(start),
    });
    const definitions = await startDefinitions(config, opened, {
      ...context,
      ...migrations,
    });
    const metering = createMeteringEngine({
      store,
      metering: opened.metering,
      namedSubscriptions: opened.namedSubscriptions,
      clock: context.clock,
      rules,
      schemas,
      cronIntervalMs: config.cronIntervalMs,
      onSweepError: context.onSweepError,
      // Typed writes commit through the aggregate store, not the event store: they wake subscriptions too.
      subscriptionWakeSources: [
        definitions.commits,
        ...(opened.appendWakeups === undefined ? [] : [opened.appendWakeups]),
      ],
    });
    // Closing the engine closes the database; the aggregate store's own resources go with it.
    const close = async (): Promise<void> => {
      try {
        await metering.close();
      } finally {
        await opened.closeAggregates();
      }
    };
    return { engine: { ...metering, close }, apiKeys: opened.apiKeys, definitions };
  } catch (error) {
    await opened.closeAggregates().catch(() => undefined);
    await opened.storage.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Loads the definitions from the log. Pending definitions migrations are applied here as storage migrations are: on
 * SQLite always (one embedded writer), on PostgreSQL only with `--migrate` (a serving node never changes a shared
 * schema on its own; run `aevon migrate`).
 */
async function startDefinitions(
  config: AevonConfig,
  opened: OpenedStorage,
  context: {
    readonly clock: Clock;
    readonly random: Random;
    readonly migrate: boolean;
    readonly environment: CliEnvironment;
    readonly files: Awaited<ReturnType<typeof loadConfiguredMigrations>>['files'];
    readonly upcasters: Awaited<ReturnType<typeof loadConfiguredMigrations>>['upcasters'];
  },
): Promise<DefinitionsEngine> {
  const definitions = await openDefinitions(config, opened, {
    clock: context.clock,
    random: context.random,
    upcasters: context.upcasters,
    ...(opened.appendWakeups === undefined ? {} : { wakeSources: [opened.appendWakeups] }),
  });
  if (opened.engine === 'sqlite' || context.migrate) {
    await definitions.migrate(context.files, (file, result) => {
      context.environment.stdout(
        `aevon: applied ${file.name} (definitions version ${result.state.version})`,
      );
      for (const line of warningLines(file, result)) context.environment.stderr(line);
    });
  }
  return definitions;
}

async function listen(app: FastifyInstance, config: AevonConfig): Promise<string> {
  try {
    await app.listen({ host: config.serverHost, port: config.serverPort });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const where = `${config.serverHost}:${config.serverPort}`;
    const reason = `server.host/server.port: cannot listen on ${where}: ${typeof code === 'string' ? code : String(error)}`;
    throw new AevonError(
      'AEV_CONFIG_INVALID',
      { reason, source: config.file ?? 'default' },
      { cause: error },
    );
  }
  const address = app.server.address();
  const port = address !== null && typeof address === 'object' ? address.port : config.serverPort;
  const host = config.serverHost.includes(':') ? `[${config.serverHost}]` : config.serverHost;
  return `http://${host}:${port}`;
}

interface ShutdownParts {
  readonly app: FastifyInstance;
  readonly engine: MeteringEngine;
  readonly environment: CliEnvironment;
  readonly done: (code: number) => void;
}

/**
 * Installs the SIGTERM/SIGINT handlers and returns the stop function. The first signal closes the server (no new
 * connections; requests in flight finish) and then the engine (final sweep, drained appends, closed database); a
 * second signal exits at once with 128 + the signal number.
 */
function createShutdown(parts: ShutdownParts): (reason: string, code: number) => void {
  const { app, engine, environment, done } = parts;
  let isStopping = false;
  const stop = (reason: string, code: number): void => {
    if (isStopping) return;
    isStopping = true;
    environment.stdout(`aevon: ${reason}; shutting down`);
    void (async () => {
      let exitCode = code;
      try {
        await app.close();
        await engine.close();
      } catch (error) {
        environment.stderr(formatErrorLine(error));
        exitCode = exitCode === exitCodes.ok ? exitCodeForError(error) : exitCode;
      }
      process.off('SIGTERM', onSigterm);
      process.off('SIGINT', onSigint);
      environment.stdout(`aevon: stopped`);
      done(exitCode);
    })();
  };
  const onSignal = (signal: 'SIGTERM' | 'SIGINT'): void => {
    if (isStopping) {
      environment.stderr(`aevon: second ${signal}; exiting without finishing the shutdown`);
      process.exit(forcedExitCodeBySignal[signal]);
    }
    stop(`${signal} received`, exitCodes.ok);
  };
  const onSigterm = (): void => onSignal('SIGTERM');
  const onSigint = (): void => onSignal('SIGINT');
  process.on('SIGTERM', onSigterm);
  process.on('SIGINT', onSigint);
  return stop;
}
