// Goal: no request, however malformed, gets a 5xx, makes the server log an unexpected error, or writes anything it
// did not acknowledge; every acknowledgement is stored exactly once; the server still answers afterwards.
// Method: fast-check generates requests (test/support/http-fuzz.ts): >= 10,000 through app.inject on SQLite, 1,000 on
// PostgreSQL, and 500 as raw bytes over a real socket to a listening server, mixed with transport-level garbage. Every
// 202 and every batch item answered "accepted" is recorded; at the end the stored ids must equal the recorded ones.
// A failure prints its seed: rerun with AEVON_FUZZ_SEED=<seed> to replay it.
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BodyFraming, FuzzRequest } from '../../../test/support/http-fuzz.js';
import {
  frameRequest,
  fuzzRequest,
  hostileEnvelope,
  transportGarbage,
  withFreshIds,
} from '../../../test/support/http-fuzz.js';
import type { AnswerParts, HostileServer } from '../../../test/support/hostile-http.js';
import { expectProblem, openHostileServer } from '../../../test/support/hostile-http.js';

const seed = Number(process.env['AEVON_FUZZ_SEED'] ?? Math.floor(Math.random() * 2 ** 31));
const reproduce = `reproduce: AEVON_FUZZ_SEED=${seed} npx vitest run packages/server/src/http-fuzz.int.test.ts`;

/** A logger that keeps what is logged at warn and above, so that a swallowed unexpected error fails the run. */
function createRecordingLogger(): { logger: FastifyBaseLogger; readonly problems: unknown[] } {
  const problems: unknown[] = [];
  const ignore = (): void => undefined;
  const keep = (...args: unknown[]): void => {
    problems.push(args);
  };
  const logger = {
    level: 'warn',
    silent: ignore,
    trace: ignore,
    debug: ignore,
    info: ignore,
    warn: keep,
    error: keep,
    fatal: keep,
    child: () => logger,
  };
  return { logger, problems };
}

const jsonHeaders = { 'content-type': 'application/json' };

/** What the run saw: ids acknowledged as stored, and the count of answers by status. */
class Ledger {
  readonly acknowledged: string[] = [];
  readonly statuses = new Map<number, number>();
  private count = 0;

  constructor(private readonly prefix: string) {}

  /** New ids for valid events, and the last one again for retries. */
  readonly ids = {
    next: (): string => {
      this.count += 1;
      return this.ids.last();
    },
    last: (): string => `${this.prefix}-${seed}-${this.count}`,
  };

  /** Checks one answer against the contract and records what it acknowledged. */
  record(request: FuzzRequest, answer: AnswerParts): void {
    this.statuses.set(answer.status, (this.statuses.get(answer.status) ?? 0) + 1);
    const context = `${reproduce}\n${request.method} ${request.path} -> ${answer.status} ${answer.body}`;
    expect(answer.status, context).toBeLessThan(500);
    if (answer.status >= 400) {
      if (request.method === 'HEAD') expect(answer.contentType, context).toMatch(/problem\+json/);
      else expectProblem(answer, undefined, context);
      return;
    }
    if (answer.status === 202) {
      expect(JSON.parse(answer.body), context).toEqual({ status: 'accepted' });
      const { id } = JSON.parse(request.body?.toString('utf8') ?? '{}') as { id: string };
      this.acknowledged.push(id);
      return;
    }
    if (request.method !== 'POST' || answer.status !== 200) return;
    const batch = JSON.parse(answer.body) as {
      results: Array<{ id: string | null; status: string; code?: string }>;
    };
    for (const result of batch.results) {
      if (result.status === 'accepted') this.acknowledged.push(result.id ?? '');
      else expect(result.code, context).toMatch(/^AEV_/);
    }
  }

  /** The stored ids after `before` are exactly the acknowledged ones, each once. */
  async expectLogMatches(server: HostileServer, before: number): Promise<void> {
    const stored = (await server.readLog()).slice(before).map((event) => event.id);
    expect(new Set(stored).size, reproduce).toBe(stored.length);
    expect([...stored].sort(), reproduce).toEqual([...this.acknowledged].sort());
  }
}

async function sendByInject(server: HostileServer, request: FuzzRequest): Promise<AnswerParts> {
  const response = await server.app.inject({
    method: request.method as 'POST',
    url: request.path,
    headers: request.headers,
    ...(request.body === undefined ? {} : { payload: request.body }),
  });
  return {
    status: response.statusCode,
    contentType: response.headers['content-type'] as string | undefined,
    body: response.body,
  };
}

/** Statuses every inject run must have produced, so that the mix is known to reach every kind of answer. */
const statusesSeen = {
  sqlite: [200, 202, 400, 404, 405, 409, 415],
  postgres: [200, 202, 400, 405, 415],
} as const;

describe.each([
  ['sqlite', 10_000],
  ['postgres', 1_000],
] as const)('fuzzing the HTTP API on %s', (target, runs) => {
  let server: HostileServer;
  const recording = createRecordingLogger();

  beforeAll(async () => {
    server = await openHostileServer(target, { logger: recording.logger });
  });
  afterAll(async () => {
    await server.close();
  });

  it('stores a hostile envelope exactly as sent when it answers 202, and nothing when it answers 4xx', async () => {
    const ledger = new Ledger(`property-${target}`);
    await fc.assert(
      fc.asyncProperty(hostileEnvelope, async (envelope) => {
        // Given the log before, and an envelope that may break any rule
        const before = await server.readLog();
        const body = withFreshIds(Buffer.from(JSON.stringify(envelope)), ledger.ids);
        // When it is posted
        const request = { method: 'POST', path: '/v1/events', headers: jsonHeaders, body };
        const answer = await sendByInject(server, request);
        ledger.record(request, answer);
        // Then a 202 added exactly this event, and anything else added nothing
        const after = await server.readLog();
        expect(after.slice(0, before.length), reproduce).toEqual(before);
        const sent = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        const added = after.slice(before.length);
        if (answer.status !== 202) expect(added, reproduce).toEqual([]);
        else {
          expect(added, reproduce).toEqual([
            { id: sent['id'], data: sent['data'], metadata: sent['metadata'] ?? {} },
          ]);
        }
      }),
      { seed, numRuns: target === 'sqlite' ? 300 : 150, endOnFailure: true },
    );
  }, 120_000);

  it(`answers ${runs} random requests through inject without a 5xx, storing exactly what it acknowledged`, async () => {
    const ledger = new Ledger(`inject-${target}`);
    const before = (await server.readLog()).length;
    await fc.assert(
      fc.asyncProperty(fuzzRequest, async (generated) => {
        const body = generated.body && withFreshIds(generated.body, ledger.ids);
        const request = { ...generated, body };
        ledger.record(request, await sendByInject(server, request));
      }),
      { seed, numRuns: runs, endOnFailure: true },
    );
    await ledger.expectLogMatches(server, before);
    expect((await server.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect(recording.problems, reproduce).toEqual([]);
    // The mix reached the server's every kind of answer, not just one error path.
    for (const status of statusesSeen[target]) {
      expect(ledger.statuses.get(status) ?? 0, `${reproduce} status ${status}`).toBeGreaterThan(0);
    }
    expect(ledger.acknowledged.length).toBeGreaterThan(runs / 20);
    console.info(
      `${target}: ${runs} requests, statuses ${JSON.stringify([...ledger.statuses].sort())}`,
    );
  }, 180_000);
});

/** Writes `bytes` to a new connection, half-closes it, and resolves with everything the server sent back. */
function exchange(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ port, host: '127.0.0.1' }, () => {
      socket.end(bytes);
    });
    socket.setTimeout(10_000, () => {
      socket.destroy(
        new Error(
          `no answer within 10 s to ${JSON.stringify(bytes.toString('latin1').slice(0, 200))}`,
        ),
      );
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // The server may close while we still write (after answering a malformed start); what it sent still counts.
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') resolve(Buffer.concat(chunks));
      else reject(error);
    });
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

/** Splits a byte stream into HTTP/1.1 responses (Content-Length or chunked bodies; none after HEAD). */
function parseResponses(stream: Buffer, isHead: boolean): AnswerParts[] {
  const answers: AnswerParts[] = [];
  let rest = stream.toString('latin1');
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    expect(end, `${reproduce}\nan incomplete response head: ${rest.slice(0, 300)}`).toBeGreaterThan(
      0,
    );
    const [statusLine = '', ...headerLines] = rest.slice(0, end).split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1]);
    expect(status, `${reproduce}\n${statusLine}`).toBeGreaterThanOrEqual(100);
    const headers = new Map(
      headerLines.map((line) => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()] as const;
      }),
    );
    rest = rest.slice(end + 4);
    let body = '';
    if (!isHead && headers.get('transfer-encoding') === 'chunked') {
      for (;;) {
        const lineEnd = rest.indexOf('\r\n');
        const size = parseInt(rest.slice(0, lineEnd), 16);
        body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
        rest = rest.slice(lineEnd + 2 + size + 2);
        if (size === 0) break;
      }
    } else if (!isHead) {
      const length = Number(headers.get('content-length') ?? 0);
      body = rest.slice(0, length);
      rest = rest.slice(length);
    }
    answers.push({
      status,
      contentType: headers.get('content-type'),
      body: Buffer.from(body, 'latin1').toString('utf8'),
    });
  }
  return answers;
}

/** A raw exchange: a framed API request (with its framing) or transport-level garbage. */
type RawCase =
  | { readonly kind: 'framed'; readonly request: FuzzRequest; readonly framing: BodyFraming }
  | { readonly kind: 'garbage'; readonly bytes: Buffer };

const rawCase: fc.Arbitrary<RawCase> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('framed' as const),
      request: fuzzRequest,
      framing: fc.constantFrom<BodyFraming>('content-length', 'chunked'),
    }),
  },
  {
    weight: 2,
    arbitrary: transportGarbage.map((bytes) => ({ kind: 'garbage' as const, bytes })),
  },
);

describe('fuzzing raw HTTP/1.1 over a real socket on sqlite', () => {
  let server: HostileServer;
  let port: number;
  const recording = createRecordingLogger();

  beforeAll(async () => {
    server = await openHostileServer('sqlite', { logger: recording.logger });
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    port = (server.app.server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await server.close();
  });

  const event = JSON.stringify({
    id: 'raw-regression',
    principal_id: 'user_1',
    type: 'api.request',
    occurred_at: '2026-02-11T10:30:00Z',
    data: {},
  });
  const head = (...lines: string[]): string => `${lines.join('\r\n')}\r\n\r\n`;
  const post = ['POST /v1/events HTTP/1.1', 'host: x', 'content-type: application/json'];
  it.each([
    [
      'an HTTP/1.1 request without Host',
      head(post[0] ?? '', post[2] ?? '', `content-length: ${event.length}`) + event,
      400,
    ],
    [
      'a body shorter than its Content-Length',
      head(...post, `content-length: ${event.length + 10}`) + event,
      400,
    ],
    [
      'both Content-Length and Transfer-Encoding',
      head(...post, `content-length: ${event.length}`, 'transfer-encoding: chunked') + event,
      400,
    ],
    [
      'a chunk size that is not hex',
      `${head(...post, 'transfer-encoding: chunked')}ZZ\r\n${event}\r\n0\r\n\r\n`,
      400,
    ],
    [
      'a malformed percent escape in the path',
      head('GET /v1/state/%E0%A4%A HTTP/1.1', 'host: x'),
      400,
    ],
    [
      'headers over 16 KiB',
      head('GET /health HTTP/1.1', 'host: x', `x-long: ${'a'.repeat(20_000)}`),
      431,
    ],
    ['a NUL in a header value', head('GET /health HTTP/1.1', 'host: x', 'x-nul: a\u0000b'), 400],
    ['an HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400],
  ] as const)(
    'answers %s with a coded %i, logs nothing and stores nothing',
    async (...[name, raw, status]) => {
      const before = await server.readLog();
      const answers = parseResponses(await exchange(port, Buffer.from(raw, 'latin1')), false);
      expect(answers, name).toHaveLength(1);
      const [answer] = answers;
      if (answer !== undefined) expectProblem(answer, status, name);
      expect(await server.readLog()).toEqual(before);
      expect(recording.problems).toEqual([]);
    },
  );

  it('answers 500 random byte streams with 4xx problems or valid answers, never a 5xx', async () => {
    const ledger = new Ledger('socket');
    const before = (await server.readLog()).length;
    let unanswered = 0;
    await fc.assert(
      fc.asyncProperty(rawCase, async (raw) => {
        if (raw.kind === 'garbage') {
          const answers = parseResponses(await exchange(port, raw.bytes), false);
          if (answers.length === 0) unanswered += 1;
          for (const answer of answers) {
            const request = {
              method: 'RAW',
              path: raw.bytes.toString('latin1').slice(0, 80),
              headers: {},
              body: undefined,
            };
            ledger.record(request, answer.status === 202 ? { ...answer, status: 299 } : answer);
            if (answer.status === 202) ledger.acknowledged.push('never-stored-raw');
          }
          return;
        }
        const body = raw.request.body && withFreshIds(raw.request.body, ledger.ids);
        const request = { ...raw.request, body };
        const answers = parseResponses(
          await exchange(port, frameRequest(request, raw.framing)),
          request.method === 'HEAD',
        );
        expect(answers, `${reproduce}\n${request.method} ${request.path}`).toHaveLength(1);
        for (const answer of answers) ledger.record(request, answer);
      }),
      { seed, numRuns: 500, endOnFailure: true },
    );
    await ledger.expectLogMatches(server, before);
    const health = await fetch(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    expect(recording.problems, reproduce).toEqual([]);
    console.info(
      `socket: 500 exchanges, ${unanswered} unanswered garbage, statuses ${JSON.stringify([...ledger.statuses].sort())}`,
    );
  });
});
