// Goal: every hostile request to every route gets a coded 4xx problem+json (never a 500), writes nothing, and leaves
// the server answering; strings that are merely nasty (SQL metacharacters, path traversal) are stored verbatim.
// Method: tables of requests driven with app.inject against a real engine on SQLite `:memory:` and on a fresh
// PostgreSQL database (NUL bytes, jsonb nesting, numeric ranges and quoting behave differently there); the whole log
// is read before and after each case and compared.
import { gzipSync } from 'node:zlib';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostileServer } from '../../../test/support/hostile-http.js';
import {
  expectProblem,
  hostileTargets,
  problemContentType,
  openHostileServer,
} from '../../../test/support/hostile-http.js';
import { seedEvent, seedStateQuery } from '../../../test/support/seed-quick-start.js';

const jsonHeaders = { 'content-type': 'application/json' };
const valid = { ...seedEvent, id: 'hostile-valid' };
const llmCall = { ...valid, type: 'llm.call', data: { tokens: 3 } };
const stateQuery = (principal: string, query = seedStateQuery): string =>
  `/v1/state/${principal}?${query}`;

const post = (url: string, payload: string | Buffer, headers = jsonHeaders): InjectOptions => ({
  method: 'POST',
  url,
  headers,
  payload,
});
const get = (url: string): InjectOptions => ({ method: 'GET', url });
const nested = (depth: number, open: string, close: string, inner = '1'): string =>
  open.repeat(depth) + inner + close.repeat(depth);
const withField = (field: string, value: unknown): Record<string, unknown> => ({
  ...valid,
  [field]: value,
});
const without = (field: string): Record<string, unknown> =>
  Object.fromEntries(Object.entries(valid).filter(([key]) => key !== field));
/** The valid envelope's JSON with `"id":"hostile-valid"` replaced by raw bytes. */
const withRawId = (bytes: readonly number[]): Buffer => {
  const [before = '', after = ''] = JSON.stringify(valid).split('hostile-valid');
  return Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
};

/** Envelopes that break a rule of POST /v1/events; each is also sent as one item of a batch. */
const badEnvelopes: ReadonlyArray<readonly [string, unknown, number?]> = [
  ...['id', 'principal_id', 'type', 'occurred_at', 'data'].map(
    (field) => [`without ${field}`, without(field)] as const,
  ),
  ...[1, null, true, [], {}, ''].flatMap((value) =>
    ['id', 'principal_id', 'type', 'occurred_at'].map(
      (field) => [`${field} = ${JSON.stringify(value)}`, withField(field, value)] as const,
    ),
  ),
  ...[[], 'x', null, 1, true].map(
    (value) => [`data = ${JSON.stringify(value)}`, withField('data', value)] as const,
  ),
  ...['1', -1, 1.5, 1e300, true, '0'].map(
    (value) =>
      [`schema_version = ${JSON.stringify(value)}`, withField('schema_version', value)] as const,
  ),
  ...[[], 'x', { k: 1 }, { k: null }, { k: {} }, { k: '\u0000' }, { '\u0000': 'v' }].map(
    (value) => [`metadata = ${JSON.stringify(value)}`, withField('metadata', value)] as const,
  ),
  ['an extra field', withField('extra', 1)],
  ['a field in another case', withField('ID', 'x')],
  ['schema_version 1 with data the schema rejects', withField('schema_version', 1)],
  ['schema_version 7 that has no schema', withField('schema_version', 7)],
  ['an id of 257 characters', withField('id', 'i'.repeat(257))],
  ['an id of 100,000 characters', withField('id', 'i'.repeat(100_000))],
  ['a principal_id of 502 characters', withField('principal_id', 'p'.repeat(502))],
  ['a type of 257 characters', withField('type', 't'.repeat(257))],
  ...['\n', '\r', '\t', '\u0000', '\u0007', '\u001b[31m', '\u007f', '\u0085'].flatMap((c) =>
    ['id', 'principal_id', 'type'].map(
      (field) =>
        [`${field} with control ${JSON.stringify(c)}`, withField(field, `a${c}b`)] as const,
    ),
  ),
  ...['\ud800', '\udfff', 'a\ud83d'].flatMap((s) =>
    ['id', 'principal_id', 'type'].map(
      (field) => [`${field} with lone surrogate`, withField(field, s)] as const,
    ),
  ),
  ['a NUL in a data value', withField('data', { a: 'x\u0000y' })],
  ['a NUL in a data key', withField('data', { 'x\u0000': 1 })],
  ['a lone surrogate in data', withField('data', { a: '\udc00' })],
  ['a NUL deep in data', withField('data', { a: [{ b: ['\u0000'] }] })],
  ...[
    '2026-02-11T10:30:00',
    '2026-02-11',
    '2026-02-11 10:30:00Z',
    '10:30:00Z',
    '0000-01-01T00:00:00Z',
    '10000-01-01T00:00:00Z',
    '+275760-09-13T00:00:00Z',
    '-000001-01-01T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-02-30T00:00:00Z',
    '2026-02-11T24:00:00Z',
    '2026-06-30T23:59:60Z',
    '2026-02-11T10:30:00+99:99',
    '2026-02-11T10:30:00+0100',
    '2026-02-11T10:30:00.1234567890Z',
    '１９９９-01-01T00:00:00Z',
    'now',
    '1770805800000',
  ].map((ts) => [`occurred_at ${JSON.stringify(ts)}`, withField('occurred_at', ts)] as const),
  ...[undefined, 'abc', 'NaN', 'Infinity', '-Infinity', '1e401', '', ' 1', '1 ', '+1', '0x10']
    .concat(['1_000', '1,5', '9'.repeat(201)])
    .map(
      (tokens) =>
        [
          `sum field tokens = ${JSON.stringify(tokens)?.slice(0, 20)}`,
          { ...llmCall, data: tokens === undefined ? {} : { tokens } },
        ] as const,
    ),
  ...[true, null, [], {}, [1]].map(
    (tokens) =>
      [`sum field tokens = ${JSON.stringify(tokens)}`, { ...llmCall, data: { tokens } }] as const,
  ),
  ['data nested 100,000 objects deep', 'RAW:data-objects'],
  ['data nested 200,000 arrays deep', 'RAW:data-arrays'],
  ['data nested 65 levels deep', withField('data', JSON.parse(nested(65, '{"a":', '}')))],
  ['data nested 1,000 levels deep', withField('data', JSON.parse(nested(999, '{"a":', '}')))],
  [
    'arrays nested 65 levels deep in data',
    withField('data', { a: JSON.parse(nested(64, '[', ']')) }),
  ],
];

/** The raw JSON text of an envelope case (deep nesting is built as text: JSON.stringify would overflow). */
function envelopeText(envelope: unknown): string {
  if (envelope === 'RAW:data-objects') {
    return JSON.stringify(valid).replace('"data":{}', `"data":${nested(100_000, '{"a":', '}')}`);
  }
  if (envelope === 'RAW:data-arrays') {
    return JSON.stringify(valid).replace('"data":{}', `"data":{"a":${nested(200_000, '[', ']')}}`);
  }
  return JSON.stringify(envelope);
}

/** Bodies that are not a JSON event at all. */
const badBodies: ReadonlyArray<readonly [string, string | Buffer, number?]> = [
  ['an empty body', '', 400],
  ['whitespace only', ' \n\t ', 400],
  ['a truncated object', '{"id": "evt-001",', 400],
  ['a trailing comma', '{"id": "a",}', 400],
  ['single quotes', "{'id': 'a'}", 400],
  ['two objects', '{}{}', 400],
  ['trailing garbage', `${JSON.stringify(valid)} x`, 400],
  ['NaN', '{"data": NaN}', 400],
  ['Infinity', '{"data": Infinity}', 400],
  ['a leading zero', '{"schema_version": 01}', 400],
  ['a bad escape', '{"id": "\\x41"}', 400],
  ['a short unicode escape', '{"id": "\\u12"}', 400],
  ['a raw NUL inside a string', `{"id": "a${'\u0000'}b"}`, 400],
  ['a raw newline inside a string', '{"id": "a\nb"}', 400],
  ['an unterminated string', '{"id": "abc', 400],
  ['a lone quote', '"', 400],
  ['nul', 'nul', 400],
  ['null', 'null', 400],
  ['a number', '42', 400],
  ['a string', '"event"', 400],
  ['true', 'true', 400],
  ['an empty array', '[]', 400],
  ['a __proto__ key', '{"__proto__": {"isAdmin": true}}', 400],
  ['a constructor.prototype key', '{"constructor": {"prototype": {"x": 1}}}', 400],
  ['a number beyond double range in a sum field', '{"data": {"tokens": 1e400}}', 400],
  ['100,000 nested objects', nested(100_000, '{"a":', '}'), 400],
  ['an id with invalid UTF-8 (0xff 0xfe)', withRawId([0xff, 0xfe]), 400],
  ['an id with an overlong "/" (0xc0 0xaf)', withRawId([0xc0, 0xaf]), 400],
  ['an id with a UTF-8-encoded surrogate', withRawId([0xed, 0xa0, 0x80]), 400],
  ['an id with a code point above U+10FFFF', withRawId([0xf4, 0x90, 0x80, 0x80]), 400],
  ['an id with a truncated sequence', withRawId([0x61, 0xe2, 0x82]), 400],
  ['an id with a lone continuation byte', withRawId([0x80]), 400],
  ['a body that ends inside a sequence', Buffer.from([0x7b, 0x22, 0xe2, 0x82]), 400],
  ['a UTF-16 body', Buffer.from(`\ufeff${JSON.stringify(valid)}`, 'utf16le'), 400],
  ['a body one byte over 1 MiB', ' '.repeat(1024 * 1024 + 1), 413],
  [
    'an event whose data is over 1 MiB',
    JSON.stringify(withField('data', { big: 'x'.repeat(1024 * 1024) })),
    413,
  ],
];

/** Header oddities on an otherwise valid event. */
const validText = JSON.stringify(valid);
const badHeaders: ReadonlyArray<
  readonly [string, Record<string, string>, string | Buffer, number]
> = [
  ['no Content-Type', {}, validText, 415],
  ['text/plain', { 'content-type': 'text/plain' }, validText, 415],
  ['application/xml', { 'content-type': 'application/xml' }, '<event/>', 415],
  ['a form', { 'content-type': 'application/x-www-form-urlencoded' }, 'id=1', 415],
  ['multipart', { 'content-type': 'multipart/form-data; boundary=x' }, '--x--', 415],
  ['application/jsonx', { 'content-type': 'application/jsonx' }, validText, 415],
  ['application/json-patch+json', { 'content-type': 'application/json-patch+json' }, '[]', 415],
  ['an empty Content-Type', { 'content-type': '' }, validText, 415],
  ['a garbage Content-Type', { 'content-type': ';;;=' }, validText, 415],
  ['a latin1 charset', { 'content-type': 'application/json; charset=iso-8859-1' }, validText, 415],
  ['a utf-16 charset', { 'content-type': 'application/json; charset=utf-16' }, validText, 415],
  [
    'gzip Content-Encoding',
    { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    gzipSync(validText),
    415,
  ],
  [
    'gzip Content-Encoding over plain JSON',
    { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    validText,
    415,
  ],
  [
    'br Content-Encoding',
    { 'content-type': 'application/json', 'content-encoding': 'br' },
    validText,
    415,
  ],
  [
    'an unknown Content-Encoding',
    { 'content-type': 'application/json', 'content-encoding': 'x-evil' },
    validText,
    415,
  ],
];

/** Routes, methods and URLs that lead nowhere. */
const badRoutes: ReadonlyArray<readonly [string, InjectOptions, number]> = [
  ['an unknown path', get('/v1/eventz'), 404],
  ['the root', get('/'), 404],
  ['/v1', get('/v1'), 404],
  ['a trailing slash', post('/v1/events/', validText), 404],
  ['upper case', post('/V1/EVENTS', validText), 404],
  ['a double slash', post('//v1/events', validText), 404],
  ['a traversal path', get('/../../etc/passwd'), 404],
  ['a very long path', get(`/${'x/'.repeat(20_000)}`), 404],
  ['GET /v1/events', get('/v1/events'), 405],
  ...(['PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const).flatMap((method) =>
    ['/v1/events', '/v1/ingest', '/v1/events/batch', '/v1/state/user_123', '/health'].map(
      (url) =>
        [
          `${method} ${url}`,
          { method, url, headers: jsonHeaders, payload: validText },
          405,
        ] as const,
    ),
  ),
  ['POST /v1/state/user_123', post('/v1/state/user_123', validText), 405],
  ['POST /health', post('/health', '{}'), 405],
  ['POST /ready', post('/ready', '{}'), 405],
  ['a malformed percent escape in the path', get('/v1/state/%E0%A4%A'), 400],
  ['a lone percent in the path', get('/v1/state/%'), 400],
  ['a percent-encoded invalid UTF-8 principal', get(stateQuery('%ff%fe')), 400],
  ['a percent-encoded overlong principal', get(stateQuery('%c0%af')), 400],
  ['a path parameter over 8 KiB', get(stateQuery('%C3%A9'.repeat(1400))), 400],
];

/** State queries that break a rule of GET /v1/state/{principal_id}. */
const badQueries: ReadonlyArray<readonly [string, string, number?]> = [
  ['no query', '/v1/state/user_123', 400],
  ['no rule', '/v1/state/user_123?start=2026-02-11T10:00:00Z&end=2026-02-11T11:00:00Z', 400],
  ['an empty rule', stateQuery('user_123', seedStateQuery.replace('count_api_requests', '')), 400],
  ['a SQL rule', stateQuery('user_123', "rule=x'%20OR%20'1'='1&start=a&end=b"), 400],
  ['a traversal rule', stateQuery('user_123', 'rule=../../etc/passwd'), 400],
  ['two rules', stateQuery('user_123', `${seedStateQuery}&rule=tokens`), 400],
  ['no start', stateQuery('user_123', 'rule=count_api_requests&end=2026-02-11T11:00:00Z'), 400],
  ['no end', stateQuery('user_123', 'rule=count_api_requests&start=2026-02-11T10:00:00Z'), 400],
  ...[
    '2026-02-11T10:00:00',
    '2026-02-11',
    '0000-01-01T00:00:00Z',
    '10000-01-01T00:00:00Z',
    '%00',
    '2026-02-11T10:00:00Z%00',
    "2026-02-11T10:00:00Z'--",
    '-1',
  ].map(
    (start) =>
      [
        `start ${start}`,
        stateQuery('user_123', seedStateQuery.replace('2026-02-11T10:00:00Z', start)),
        400,
      ] as const,
  ),
  [
    'start after end',
    stateQuery('user_123', seedStateQuery.replace('10:00:00Z', '12:00:00Z')),
    400,
  ],
  [
    'start equal to end',
    stateQuery('user_123', seedStateQuery.replace('10:00:00Z', '11:00:00Z')),
    400,
  ],
  [
    'a range over 366 days',
    stateQuery('user_123', seedStateQuery.replace('2026-02-11T10', '2020-02-11T10')),
    400,
  ],
  [
    'the widest timestamps',
    stateQuery(
      'user_123',
      'rule=count_api_requests&start=0001-01-01T00:00:00Z&end=9999-12-31T23:59:59Z',
    ),
    400,
  ],
  ...['1s', '1M', 'TOTAL', "total'--", '%00', '1m%20', ''].map(
    (g) =>
      [
        `granularity ${JSON.stringify(g)}`,
        stateQuery('user_123', seedStateQuery.replace('granularity=total', `granularity=${g}`)),
        400,
      ] as const,
  ),
  ...['%00', '%0a', '%1b', '%7f', '%c2%85', '%ed%a0%80', 'a%00b', 'p'.repeat(502)].map(
    (principal) => [`principal ${principal.slice(0, 20)}`, stateQuery(principal), 400] as const,
  ),
];

/** Nasty strings that are valid names: they must be stored and read back byte for byte. */
const nastyNames: readonly string[] = [
  "'",
  "''",
  "'; DROP TABLE events; --",
  '" OR ""="',
  "' OR 1=1 --",
  '\\',
  '\\\\x00',
  '\\u0000',
  '\\\\u0000',
  '\\ud800',
  "E'\\\\x00'",
  '%',
  '_',
  '%_%',
  '$1',
  '$$',
  '?',
  ':name',
  '/* */',
  '`',
  ';',
  ')',
  '../../etc/passwd',
  '..\\..\\windows\\system32',
  '%2e%2e%2f',
  '/',
  'principals/../other',
  '\u202e\u200b\ufeff',
  '😀',
  'ǅ',
];

const envelopeRows = badEnvelopes.map(([name, envelope, status]) => ({ name, envelope, status }));
const headerRows = badHeaders.map(([name, headers, payload, status]) => ({
  name,
  headers,
  payload,
  status,
}));

describe.each(hostileTargets)('hostile input on %s', (target) => {
  let server: HostileServer;

  beforeAll(async () => {
    server = await openHostileServer(target);
    const seeded = await server.app.inject(post('/v1/events', JSON.stringify(seedEvent)));
    expect(seeded.statusCode).toBe(202);
  });
  afterAll(async () => {
    await server.close();
  });

  /** Sends the request; checks the coded 4xx answer, that the log is unchanged and that /health answers. */
  async function expectRejected(request: InjectOptions, status: number | undefined, name: string) {
    const before = await server.readLog();
    const response = await server.app.inject(request);
    const answer = {
      status: response.statusCode,
      contentType: response.headers['content-type'] as string | undefined,
      body: response.body,
    };
    const problem = expectProblem(answer, status, name);
    expect(response.body).not.toMatch(/\bat .*\.(?:js|ts):\d+/);
    expect(await server.readLog()).toEqual(before);
    if (response.statusCode === 405) expect(response.headers['allow']).toBeTruthy();
    expect((await server.app.inject(get('/health'))).statusCode).toBe(200);
    return problem;
  }

  const routesForEvents = ['/v1/events', '/v1/ingest'] as const;

  describe.each(routesForEvents)('POST %s', (url) => {
    it.each(envelopeRows)('rejects an envelope with $name', async ({ name, envelope, status }) => {
      await expectRejected(post(url, envelopeText(envelope)), status ?? 400, name);
    });

    it.each(badBodies.map(([name, payload, status]) => ({ name, payload, status })))(
      'rejects $name',
      async ({ name, payload, status }) => {
        await expectRejected(post(url, payload), status, name);
      },
    );

    it.each(headerRows)('rejects $name', async ({ name, headers, payload, status }) => {
      await expectRejected({ method: 'POST', url, headers, payload }, status, name);
    });

    it('rejects a duplicate id with 409 and keeps the first write', async () => {
      const problem = await expectRejected(post(url, JSON.stringify(seedEvent)), 409, 'dup');
      expect(problem['code']).toBe('AEV_EVENT_ID_DUPLICATE');
    });
  });

  describe('POST /v1/events/batch', () => {
    let counter = 0;
    it.each(envelopeRows)(
      'stores exactly the valid neighbours of an item with $name',
      async ({ envelope }) => {
        // Given a batch of a valid event, the hostile one and another valid event
        counter += 1;
        const ids = [`batch-${counter}-a`, `batch-${counter}-b`];
        const before = await server.readLog();
        const body = `[${JSON.stringify({ ...valid, id: ids[0] })},${envelopeText(envelope)},${JSON.stringify({ ...valid, id: ids[1] })}]`;
        // When it is posted
        const response = await server.app.inject(post('/v1/events/batch', body));
        // Then the hostile item alone is rejected with a code, and exactly the two valid ones are written
        expect(response.statusCode, response.body).toBe(200);
        const answer = response.json<{ results: Array<Record<string, unknown>> }>();
        expect(answer).toMatchObject({ accepted: 2, duplicates: 0, rejected: 1 });
        expect(answer.results[1]).toMatchObject({ status: 'rejected' });
        expect(answer.results[1]?.['code']).toMatch(/^AEV_/);
        const after = await server.readLog();
        expect(after.slice(0, before.length)).toEqual(before);
        expect(after.slice(before.length).map((event) => event.id)).toEqual(ids);
      },
    );

    it('stores an id given twice in one batch once, answering the second as a duplicate', async () => {
      const before = await server.readLog();
      const event = JSON.stringify({ ...valid, id: 'twice-in-a-batch' });
      const response = await server.app.inject(post('/v1/events/batch', `[${event},${event}]`));
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toMatchObject({
        results: [
          { id: 'twice-in-a-batch', status: 'accepted' },
          { id: 'twice-in-a-batch', status: 'duplicate', code: 'AEV_EVENT_ID_DUPLICATE' },
        ],
        accepted: 1,
        duplicates: 1,
      });
      const added = (await server.readLog()).slice(before.length);
      expect(added.map((stored) => stored.id)).toEqual(['twice-in-a-batch']);
    });

    it.each([
      ['an empty array', '[]', 400],
      ['an empty events list', '{"events": []}', 400],
      ['events that is not an array', '{"events": {"0": {}}}', 400],
      ['events null', '{"events": null}', 400],
      ['an object without events', JSON.stringify(valid), 400],
      ['a number', '1', 400],
      ['10,001 items', `[${Array.from({ length: 10_001 }, () => '{}').join(',')}]`, 413],
      ['a body over 16 MiB', `[${' '.repeat(16 * 1024 * 1024)}]`, 413],
      ['a truncated array', `[${validText},`, 400],
      [
        'invalid UTF-8 in one item',
        Buffer.concat([Buffer.from('['), withRawId([0xff]), Buffer.from(']')]),
        400,
      ],
    ] as const)('rejects %s and writes nothing', async (...[name, payload, status]) => {
      await expectRejected(post('/v1/events/batch', payload), status, name);
    });
  });

  describe('GET /v1/state/{principal_id}', () => {
    it.each(badQueries.map(([name, url, status]) => ({ name, url, status })))(
      'rejects $name',
      async ({ name, url, status }) => {
        await expectRejected(get(url), status, name);
        const head = await server.app.inject({ method: 'HEAD', url });
        expect(head.statusCode).toBe(status);
        expect(head.headers['content-type']).toBe(problemContentType);
      },
    );
  });

  describe('routes and methods', () => {
    it.each(badRoutes.map(([name, request, status]) => ({ name, request, status })))(
      'answers $name with a coded problem',
      async ({ name, request, status }) => {
        await expectRejected(request, status, name);
      },
    );
  });

  describe('nasty but valid strings', () => {
    it('stores SQL metacharacters and traversal strings verbatim in every field and reads them back', async () => {
      // Given events whose id, principal, type, data and metadata are each a nasty string
      const before = await server.readLog();
      for (const [index, name] of nastyNames.entries()) {
        const envelope = {
          id: `${name}#${index}`,
          principal_id: `${name}#p`,
          type: 'api.request',
          occurred_at: '2026-02-11T10:30:00Z',
          data: { [name]: name, nested: [name, { [name]: [name] }] },
          metadata: { [name]: name },
        };
        // When each is posted
        const response = await server.app.inject(post('/v1/events', JSON.stringify(envelope)));
        // Then it is accepted, and its principal's count is exactly one
        expect(response.statusCode, `${name}: ${response.body}`).toBe(202);
        const state = await server.app.inject(get(stateQuery(encodeURIComponent(`${name}#p`))));
        expect(state.statusCode, `${name}: ${state.body}`).toBe(200);
        expect(state.json()).toMatchObject({
          principal_id: `${name}#p`,
          values: [{ value: '1', event_count: 1 }],
        });
      }
      // And the log holds exactly those events, byte for byte
      const added = (await server.readLog()).slice(before.length);
      expect(added.map((event) => [event.id, event.data, event.metadata])).toEqual(
        nastyNames.map((name, index) => [
          `${name}#${index}`,
          { [name]: name, nested: [name, { [name]: [name] }] },
          { [name]: name },
        ]),
      );
      const types = await server.app.inject(
        get(
          stateQuery(
            encodeURIComponent("'; DROP TABLE events; --"),
            seedStateQuery.replace(
              'count_api_requests',
              encodeURIComponent("count_api_requests' OR '1'='1"),
            ),
          ),
        ),
      );
      expect(
        expectProblem(
          {
            status: types.statusCode,
            contentType: types.headers['content-type'] as string,
            body: types.body,
          },
          400,
        )['code'],
      ).toBe('AEV_RULE_UNKNOWN');
    });

    it('accepts data nested exactly as deep as the limit, 64 levels, and stores it unchanged', async () => {
      const data = JSON.parse(nested(63, '{"a":', '}', '[1]')) as Record<string, unknown>;
      const envelope = { ...valid, id: 'deep-64', data };
      const response = await server.app.inject(post('/v1/events', JSON.stringify(envelope)));
      expect(response.statusCode, response.body).toBe(202);
      expect((await server.readLog()).find((event) => event.id === 'deep-64')?.data).toEqual(data);
    });

    it('queries a principal of the longest allowed length, 501 characters, written in escapes', async () => {
      // Fastify's default maxParamLength (100) refused such a principal on the read path although ingest accepted it
      const principal = 'é'.repeat(501);
      const envelope = { ...valid, id: 'long-principal', principal_id: principal };
      const response = await server.app.inject(post('/v1/events', JSON.stringify(envelope)));
      expect(response.statusCode, response.body).toBe(202);
      const state = await server.app.inject(get(stateQuery(encodeURIComponent(principal))));
      expect(state.statusCode, state.body).toBe(200);
      expect(state.json()).toMatchObject({ principal_id: principal, values: [{ value: '1' }] });
    });

    it('counts events at the edges of the timestamp range, before and after a sweep', async () => {
      // Given events at the first and last instants RFC 3339 allows, some of whose offsets leave years 0001-9999 in UTC
      const edges = [
        '0001-01-01T00:00:00Z',
        '0001-01-01T00:00:00+01:00',
        '9999-12-31T23:59:59.999999999Z',
        '9999-12-31T23:59:59-01:00',
        '1970-01-01T00:00:00Z',
        '1969-12-31T23:59:59.999Z',
      ];
      for (const [index, occurredAt] of edges.entries()) {
        const envelope = {
          ...llmCall,
          id: `edge-ts-${index}`,
          principal_id: 'edge-ts',
          occurred_at: occurredAt,
        };
        const response = await server.app.inject(post('/v1/events', JSON.stringify(envelope)));
        expect(response.statusCode, `${occurredAt}: ${response.body}`).toBe(202);
      }
      // When the ranges around them are read, before and after a sweep
      const ranges = [
        ['0001-01-01T00:00:00Z', '0001-01-02T00:00:00Z', '3'],
        ['9999-12-31T00:00:00Z', '9999-12-31T23:59:59Z', '3'],
        ['1969-12-31T23:00:00Z', '1970-01-01T01:00:00Z', '6'],
      ] as const;
      const read = async () => {
        const values: string[] = [];
        for (const [start, end] of ranges) {
          for (const granularity of ['total', '1m', '1h', '1d']) {
            const query = `rule=tokens&start=${start}&end=${end}&granularity=${granularity}`;
            const response = await server.app.inject(get(stateQuery('edge-ts', query)));
            expect(response.statusCode, `${query}: ${response.body}`).toBe(200);
            const windows = response.json<{ values: Array<{ value: string }> }>().values;
            if (granularity === 'total') values.push(windows[0]?.value ?? '');
          }
        }
        return values;
      };
      // Then every answer is a 200, and the sums (3 tokens each) hold the events whose UTC instant is in the widened
      // range: one in year 0001 (the +01:00 one is in year 0000 UTC), one in 9999 (the -01:00 one is in 10000 UTC)
      const before = await read();
      expect(before).toEqual(ranges.map(([, , value]) => value));
      await server.engine.sweep();
      expect(await read()).toEqual(before);
    });

    it('sums negative, tiny and huge numbers exactly, before and after a sweep', async () => {
      // Given llm.call events whose tokens are at the edges of the accepted range
      const tokens = [-5, '1e400', '-1e-400', 0, '-0', 5e-324, 1.7976931348623157e308, '0.000'];
      for (const [index, value] of tokens.entries()) {
        const envelope = {
          ...llmCall,
          id: `edge-${index}`,
          principal_id: 'edge-numbers',
          data: { tokens: value },
        };
        const response = await server.app.inject(post('/v1/events', JSON.stringify(envelope)));
        expect(response.statusCode, `${String(value)}: ${response.body}`).toBe(202);
      }
      // When the sum is read before and after a sweep
      const query = seedStateQuery.replace('count_api_requests', 'tokens');
      const read = async () => {
        const response = await server.app.inject(get(stateQuery('edge-numbers', query)));
        expect(response.statusCode, response.body).toBe(200);
        return response.json<{ values: Array<{ value: string }> }>().values[0]?.value;
      };
      const expected = exactSum();
      // Then both are the exact decimal sum
      expect(await read()).toBe(expected);
      await server.engine.sweep();
      expect(await read()).toBe(expected);
    });
  });

  it('still answers /health and the quick start after all of the above', async () => {
    expect((await server.app.inject(get('/health'))).json()).toEqual({ status: 'ok' });
    const state = await server.app.inject(get(stateQuery('user_123')));
    expect(state.statusCode).toBe(200);
  });
});

/** 10^400 - 5 - 10^-400 + 5e-324 + 1.7976931348623157e308, written out exactly. */
function exactSum(): string {
  const scale = 400;
  const unit = 10n ** BigInt(scale);
  const tiny = 5n * 10n ** BigInt(scale - 324);
  const max = 17976931348623157n * 10n ** BigInt(308 - 16) * unit;
  const total = 10n ** 400n * unit - 5n * unit - 1n + tiny + max;
  const digits = total.toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, -scale);
  const fraction = digits.slice(-scale).replace(/0+$/, '');
  return fraction === '' ? whole : `${whole}.${fraction}`;
}

describe.each(hostileTargets)('a broken database on %s', (target) => {
  it('answers with a coded 5xx problem that names no table, SQL, stack or connection detail', async () => {
    // Given a server whose events table has been renamed away behind its back
    const server = await openHostileServer(target);
    try {
      await server.sabotage('ALTER TABLE @.events RENAME TO events_gone');
      // When an event is ingested and a state queried
      const responses = [
        await server.app.inject(post('/v1/events', validText)),
        await server.app.inject(get(stateQuery('user_123'))),
      ];
      const batch = await server.app.inject(post('/v1/events/batch', `[${validText}]`));
      const mixed = await server.app.inject(post('/v1/events/batch', `[${validText}, {"id": 1}]`));
      // Then each answer is a coded problem whose text gives nothing of the database away
      const leak = /events_gone|relation|no such table|SELECT|INSERT|postgres:\/\/|\bat .*:\d+/i;
      for (const response of responses) {
        const problem = expectProblemAnyStatus(response);
        expect(response.body).not.toMatch(leak);
        expect(problem['code']).toMatch(/^AEV_(STORAGE_UNAVAILABLE|INTERNAL)$/);
      }
      // And a batch of which nothing could be written is one 503, as a single event is
      expect(batch.statusCode).toBe(503);
      expect(batch.headers['retry-after']).toBe('1');
      expect(expectProblemAnyStatus(batch)['code']).toBe('AEV_STORAGE_UNAVAILABLE');
      expect(batch.body).not.toMatch(leak);
      // And a batch that also holds an invalid event reports each item, with the transient code a client retries on
      expect(mixed.statusCode).toBe(200);
      expect(mixed.json()).toMatchObject({
        results: [
          { status: 'rejected', code: 'AEV_STORAGE_UNAVAILABLE' },
          { status: 'rejected', code: 'AEV_REQUEST_INVALID' },
        ],
      });
      expect(mixed.body).not.toMatch(leak);
      expect((await server.app.inject(get('/health'))).statusCode).toBe(200);
    } finally {
      await server.sabotage('ALTER TABLE @.events_gone RENAME TO events');
      await server.close();
    }
  });
});

/** The problem of an answer at any status, checked for shape. */
function expectProblemAnyStatus(response: {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
}): Record<string, unknown> {
  expect(response.headers['content-type']).toBe(problemContentType);
  const problem = JSON.parse(response.body) as Record<string, unknown>;
  expect(problem['status']).toBe(response.statusCode);
  return problem;
}
