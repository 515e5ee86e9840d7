// Subscription delivery latency: how long from sending an event (POST /v1/events) until every live SSE subscriber
// has it, at a stated ingest rate and number of subscribers, against a real `aevon serve` process per engine. The
// client stamps each event with its send time, and each subscriber computes receipt minus send on the same clock (one
// process). Every subscriber must receive every event exactly once, in the server's order: a run that loses,
// repeats or reorders an event fails instead of reporting a latency.
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startAevonServer, writeWorkdir } from './aevon-server.js';
import type { EngineTarget } from './engine-targets.js';
import { forEachEngine } from './engine-targets.js';
import { createHttpClient, expectStatus } from './http-client.js';
import { environment, percentiles, round, writeReport } from './report.js';
import { runBench } from './run-bench.js';

interface Shape {
  readonly subscribers: number;
  readonly eventsPerSecond: number;
  readonly seconds: number;
}

const full: readonly Shape[] = [
  { subscribers: 1, eventsPerSecond: 200, seconds: 15 },
  { subscribers: 10, eventsPerSecond: 200, seconds: 15 },
  { subscribers: 50, eventsPerSecond: 200, seconds: 15 },
  { subscribers: 10, eventsPerSecond: 1000, seconds: 15 },
];
const quick: readonly Shape[] = [{ subscribers: 2, eventsPerSecond: 50, seconds: 2 }];
const startTimeoutMs = 60_000;

/** One SSE subscriber: records the latency of each event and checks the stream's order. */
interface Subscriber {
  readonly latenciesMs: number[];
  readonly ids: string[];
  readonly live: Promise<void>;
  close(): void;
}

function subscribe(baseUrl: string): Subscriber {
  const url = new URL('/v1/subscriptions?from=end', baseUrl);
  const latenciesMs: number[] = [];
  const ids: string[] = [];
  let markLive: () => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const live = new Promise<void>((resolve, reject) => {
    markLive = resolve;
    fail = reject;
  });
  const req = request(
    { host: url.hostname, port: url.port, path: `${url.pathname}${url.search}` },
    (res: IncomingMessage) => {
      if (res.statusCode !== 200) fail(new Error(`subscription answered ${res.statusCode}`));
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          onFrame(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
        }
      });
    },
  );
  const onFrame = (frame: string): void => {
    const event = /^event: (\w+)$/m.exec(frame)?.[1];
    const data = /^data: (.*)$/m.exec(frame)?.[1];
    if (event === 'live') markLive();
    if (event !== 'event' || data === undefined) return;
    const now = performance.timeOrigin + performance.now();
    const body = JSON.parse(data) as { id: string; data: { sent_at: number } };
    latenciesMs.push(now - body.data.sent_at);
    ids.push(body.id);
  };
  req.on('error', (error) => fail(error));
  req.end();
  return { latenciesMs, ids, live, close: () => req.destroy() };
}

async function measureShape(target: EngineTarget, shape: Shape, workdir: string, label: string) {
  const database = await target.fresh(label);
  const server = await startAevonServer({
    workdir,
    dsn: database.dsn,
    cronInterval: '1h',
    migrate: database.migrate,
    startTimeoutMs,
  });
  const client = createHttpClient(server.url, 50);
  const subscribers = Array.from({ length: shape.subscribers }, () => subscribe(server.url));
  try {
    await Promise.all(subscribers.map((s) => s.live));
    const total = shape.eventsPerSecond * shape.seconds;
    const sent: string[] = [];
    const pending: Promise<void>[] = [];
    const startedMs = performance.now();
    while (sent.length < total) {
      const due = Math.min(
        total,
        Math.floor(((performance.now() - startedMs) / 1000) * shape.eventsPerSecond),
      );
      while (sent.length < due) {
        const id = `${target.name}-${shape.subscribers}-${shape.eventsPerSecond}-${sent.length}`;
        sent.push(id);
        const body = JSON.stringify({
          id,
          principal_id: `p${sent.length % 100}`,
          type: 'api.request',
          schema_version: 0,
          occurred_at: new Date().toISOString(),
          data: { sent_at: performance.timeOrigin + performance.now() },
        });
        pending.push(
          client.post('/v1/events', body).then((answer) => expectStatus(answer, 202, 'ingest')),
        );
      }
      await sleep(5);
    }
    await Promise.all(pending);
    const sendSeconds = (performance.now() - startedMs) / 1000;
    const deadline = Date.now() + 60_000;
    while (subscribers.some((s) => s.ids.length < total) && Date.now() < deadline) await sleep(20);
    const expected = new Set(sent);
    const order = subscribers[0]?.ids ?? [];
    for (const subscriber of subscribers) {
      if (subscriber.ids.length !== total || new Set(subscriber.ids).size !== total)
        throw new Error(`a subscriber got ${subscriber.ids.length} of ${total} events`);
      if (!subscriber.ids.every((id, i) => expected.has(id) && id === order[i]))
        throw new Error('subscribers disagree on the order of the log');
    }
    const p = percentiles(subscribers.flatMap((s) => s.latenciesMs));
    return {
      engine: target.name,
      subscribers: shape.subscribers,
      targetEventsPerSecond: shape.eventsPerSecond,
      sentEventsPerSecond: round(total / sendSeconds, 0),
      events: total,
      deliveries: total * shape.subscribers,
      p50Ms: round(p.p50, 2),
      p99Ms: round(p.p99, 2),
      p999Ms: round(p.p999, 2),
      maxMs: round(p.max, 2),
    };
  } finally {
    for (const subscriber of subscribers) subscriber.close();
    client.close();
    await server.stop(30_000);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      engines: { type: 'string', default: 'sqlite,postgres' },
      out: { type: 'string', default: join(process.cwd(), 'bench', 'results') },
    },
  });
  const shapes = values.quick ? quick : full;
  const engines = values.engines.split(',').map((name) => name.trim());
  const dir = mkdtempSync(join(tmpdir(), 'aevon-bench-subscriptions-'));
  const rows: Record<string, unknown>[] = [];
  const config: Record<string, unknown> = { shapes };
  try {
    await forEachEngine(engines, { dir, postgresStem: 'aevon_bench_subs' }, async (target) => {
      config[target.name] = target.config;
      for (const [index, shape] of shapes.entries()) {
        const workdir = join(dir, `${target.name}-${index}`);
        writeWorkdir(workdir, [
          { name: 'count_api_requests', sourceEvent: 'api.request', operator: 'count' },
        ]);
        const row = await measureShape(target, shape, workdir, `subscriptions_${index}`);
        rows.push(row);
        process.stdout.write(`${JSON.stringify(row)}\n`);
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const files = writeReport(
    values.out,
    values.quick ? 'subscriptions-quick' : 'subscriptions',
    environment(config),
    new Date().toISOString(),
    [
      {
        key: 'delivery',
        title:
          'Subscription delivery latency, append (client send) to receipt by every SSE subscriber',
        rows,
      },
    ],
  );
  process.stdout.write(`results: ${files.json} ${files.markdown}\n`);
}

await runBench('bench:subscriptions', main);
