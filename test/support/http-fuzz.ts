// Random HTTP requests for the fuzz run (packages/server/src/http-fuzz.int.test.ts): a mix of valid, near-valid and
// garbage requests to every route, as fast-check arbitraries, so that a failure shrinks and replays from its seed. A
// valid event carries the id placeholder FRESH, which the sender replaces with a new id, so that most valid events are
// accepted rather than duplicates.
import fc from 'fast-check';

/** One request, independent of the transport (inject or a raw socket). */
export interface FuzzRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | undefined;
}

/** The id placeholders of a valid event: a new id, or the last one handed out (a retry); see {@link withFreshIds}. */
export const freshIdToken = '@@FRESH@@';
export const repeatIdToken = '@@AGAIN@@';

/** Where {@link withFreshIds} takes its ids. */
export interface IdSource {
  next(): string;
  last(): string;
}

/** Replaces the id placeholders in a body with ids from `ids`, leaving every other byte as it was. */
export function withFreshIds(body: Buffer, ids: IdSource): Buffer {
  const text = body.toString('latin1');
  if (!text.includes('@@')) return body;
  const replaced = text.replace(/@@(FRESH|AGAIN)@@/g, (token) =>
    token === freshIdToken ? ids.next() : ids.last(),
  );
  return Buffer.from(replaced, 'latin1');
}

const nastyStrings = [
  "'; DROP TABLE events; --",
  '" OR 1=1 --',
  '../../etc/passwd',
  '..%2F..%2F',
  '\\',
  '%00',
  '\u0000',
  '\n',
  '\u001b[2J',
  '\u007f',
  '\u0085',
  '\ud800',
  '\udfff',
  '\ufeff',
  '😀',
  '',
  ' ',
  '$1',
  '{}',
  '[]',
  'null',
  '__proto__',
  'constructor',
];

/** Strings likely to break something: control characters, lone surrogates, SQL, traversal, very long text. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...nastyStrings),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.string({ unit: 'grapheme', maxLength: 24 }),
  fc.integer({ min: 240, max: 700 }).map((length) => 'x'.repeat(length)),
);

const validTimestamp = fc.oneof(
  fc.constant('2026-02-11T10:30:00Z'),
  fc
    .date({
      min: new Date('0001-01-01T00:00:00Z'),
      max: new Date('9999-12-31T23:59:59Z'),
      noInvalidDate: true,
    })
    .map((date) => date.toISOString()),
  fc
    .date({
      min: new Date('2000-01-01T00:00:00Z'),
      max: new Date('2100-01-01T00:00:00Z'),
      noInvalidDate: true,
    })
    .map((date) => date.toISOString().replace(/\.\d+Z$/, '+05:30')),
);

const hostileTimestamp = fc.oneof(
  fc.constantFrom(
    '2026-02-11T10:30:00',
    '2026-02-11',
    '0000-01-01T00:00:00Z',
    '10000-01-01T00:00:00Z',
    '+275760-09-13T00:00:00Z',
    '2026-02-30T00:00:00Z',
    '2026-06-30T23:59:60Z',
    '2026-02-11T10:30:00+99:99',
  ),
  hostileString,
);

const validTokens = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom('1e400', '-1e-400', '-0', '0.000', '12.50'),
);

const validData = fc.oneof(
  fc.constant({}),
  validTokens.map((tokens) => ({ tokens })),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
);

/** An envelope that should be accepted (schema_version 0; llm.call events carry numeric tokens). */
const validEnvelope: fc.Arbitrary<Record<string, unknown>> = fc
  .record({
    id: fc.oneof(
      { weight: 12, arbitrary: fc.constant(freshIdToken) },
      { weight: 1, arbitrary: fc.constant(repeatIdToken) },
    ),
    principal_id: fc.constantFrom('user_1', 'user_2', "o'brien", '../x', 'p%2F'),
    type: fc.constantFrom('api.request', 'llm.call', 'other.thing'),
    occurred_at: validTimestamp,
    data: validData,
    metadata: fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), {
      maxKeys: 2,
    }),
  })
  .map((envelope) => ({
    ...envelope,
    data:
      envelope.type === 'llm.call' && !('tokens' in envelope.data)
        ? { ...envelope.data, tokens: 1 }
        : envelope.data,
  }));

const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 4 }), hostileString);
const envelopeFields = ['id', 'principal_id', 'type', 'occurred_at', 'data', 'metadata'];

/** A valid envelope with one thing wrong (or, rarely, nothing wrong at all). */
const nearValidEnvelope: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    validEnvelope,
    fc.constantFrom(...envelopeFields, 'schema_version', 'extra', 'tokens', 'deep'),
    fc.oneof(anyJson, hostileTimestamp),
    fc.boolean(),
  )
  .map(([envelope, field, value, isRemoval]) => {
    if (field === 'tokens') return { ...envelope, type: 'llm.call', data: { tokens: value } };
    if (field === 'deep') {
      let data: unknown = value;
      for (let level = 0; level < 70; level += 1) data = { a: data };
      return { ...envelope, data };
    }
    if (isRemoval && field in envelope) {
      return Object.fromEntries(Object.entries(envelope).filter(([key]) => key !== field));
    }
    return { ...envelope, [field]: value };
  });

const envelopeItem = fc.oneof(
  { weight: 3, arbitrary: validEnvelope },
  { weight: 4, arbitrary: nearValidEnvelope },
  { weight: 1, arbitrary: anyJson },
);

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value) ?? 'undefined');

/** Bodies that are not JSON, or not quite: random bytes, random text, truncated or bit-flipped events. */
const garbageBody: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc.string({ unit: 'binary', maxLength: 100 }).map((text) => Buffer.from(text)),
  fc.tuple(validEnvelope, fc.nat()).map(([envelope, cut]) => json(envelope).subarray(0, cut % 200)),
  fc
    .tuple(validEnvelope, fc.nat(), fc.integer({ min: 0, max: 255 }))
    .map(([envelope, at, byte]) => {
      const body = Buffer.from(json(envelope));
      body[at % body.length] = byte;
      return body;
    }),
  fc
    .integer({ min: 1, max: 20_000 })
    .map((depth) => Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`)),
  fc.constant(Buffer.alloc(0)),
);

const eventBody: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 3, arbitrary: validEnvelope.map(json) },
  { weight: 4, arbitrary: nearValidEnvelope.map(json) },
  { weight: 1, arbitrary: fc.array(envelopeItem, { maxLength: 5 }).map(json) },
  { weight: 2, arbitrary: garbageBody },
);

const batchBody: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 4, arbitrary: fc.array(envelopeItem, { maxLength: 6 }).map(json) },
  {
    weight: 2,
    arbitrary: fc.array(envelopeItem, { maxLength: 6 }).map((events) => json({ events })),
  },
  { weight: 1, arbitrary: garbageBody },
  { weight: 1, arbitrary: anyJson.map(json) },
);

/** Percent-encodes a string for a path or query, falling back to raw escapes for lone surrogates. */
function encode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return '%ED%A0%80';
  }
}

/** Printable ASCII only: what a URL written by a client library can hold. Other bytes are percent-escaped. */
const asciiGarbage = fc
  .string({ unit: 'binary-ascii', maxLength: 40 })
  .map((text) =>
    [...text]
      .map((char) =>
        char > ' ' && char < '\u007f' && !'#%\\'.includes(char) ? char : encode(char),
      )
      .join(''),
  );

const queryValue = fc.oneof(
  fc.constantFrom('2026-02-11T10:00:00Z', '2026-02-11T11:00:00Z', 'count_api_requests', 'tokens'),
  hostileTimestamp.map(encode),
  hostileString.map(encode),
  asciiGarbage,
);

const stateQuery: fc.Arbitrary<string> = fc
  .record(
    {
      rule: fc.oneof(fc.constantFrom('count_api_requests', 'tokens', 'tokens_max'), queryValue),
      start: fc.oneof(fc.constant('2026-02-11T10:00:00Z'), queryValue),
      end: fc.oneof(fc.constant('2026-02-11T11:00:00Z'), queryValue),
      granularity: fc.oneof(fc.constantFrom('total', '1m', '1h', '1d'), queryValue),
    },
    { requiredKeys: [] },
  )
  .map((query) =>
    Object.entries(query)
      .map(([key, value]) => `${key}=${value}`)
      .join('&'),
  );

const statePath: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('/v1/state/', '/v1/aggregates/'),
    fc.oneof(fc.constantFrom('user_1', 'user_2', encode("o'brien")), hostileString.map(encode)),
    fc.oneof(stateQuery, asciiGarbage),
  )
  .map(([route, principal, query]) => `${route}${principal}?${query}`);

const contentType: fc.Arbitrary<Record<string, string>> = fc.oneof(
  { weight: 12, arbitrary: fc.constant({ 'content-type': 'application/json' }) },
  {
    weight: 3,
    arbitrary: fc
      .constantFrom(
        'application/json; charset=utf-8',
        'APPLICATION/JSON',
        'application/json; charset=latin1',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/jsonx',
        '',
      )
      .map((type) => ({ 'content-type': type })),
  },
  { weight: 1, arbitrary: fc.constant({}) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('gzip', 'identity', 'br', 'x-evil')
      .map((encoding) => ({ 'content-type': 'application/json', 'content-encoding': encoding })),
  },
);

const method = fc.oneof(
  { weight: 12, arbitrary: fc.constant('POST') },
  { weight: 3, arbitrary: fc.constant('GET') },
  { weight: 2, arbitrary: fc.constantFrom('HEAD', 'PUT', 'PATCH', 'DELETE', 'OPTIONS') },
);

/** A request to a random route: mostly ingest, then state queries, then anything. */
export const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      method,
      path: fc.constantFrom('/v1/events', '/v1/ingest'),
      headers: contentType,
      body: eventBody,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      method,
      path: fc.constant('/v1/events/batch'),
      headers: contentType,
      body: batchBody,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      method: fc.oneof(
        { weight: 6, arbitrary: fc.constant('GET') },
        { weight: 1, arbitrary: method },
      ),
      path: statePath,
      headers: fc.constant({}),
      body: fc.constant(undefined),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      method,
      path: fc.oneof(
        fc.constantFrom('/health', '/ready', '/', '/v1', '/v1/events/', '//v1/events'),
        asciiGarbage.map((path) => `/${path}`),
      ),
      headers: contentType,
      body: fc.option(eventBody, { nil: undefined }),
    }),
  },
);

/** How a framed request carries its body: with Content-Length, or chunked (Transfer-Encoding). */
export type BodyFraming = 'content-length' | 'chunked';

/** A request written as HTTP/1.1 bytes with `Connection: close`. */
export function frameRequest(request: FuzzRequest, framing: BodyFraming): Buffer {
  const lines = [
    `${request.method} ${request.path} HTTP/1.1`,
    'host: localhost',
    'connection: close',
  ];
  for (const [name, value] of Object.entries(request.headers)) lines.push(`${name}: ${value}`);
  const body = request.body;
  if (body === undefined) return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  if (framing === 'content-length') {
    lines.push(`content-length: ${body.length}`);
    return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
  }
  lines.push('transfer-encoding: chunked');
  const half = Math.floor(body.length / 2);
  const chunks = [body.subarray(0, half), body.subarray(half)].filter((chunk) => chunk.length > 0);
  const parts: Buffer[] = [Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1')];
  for (const chunk of chunks) {
    parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

const crlf = (...lines: string[]): string => `${lines.join('\r\n')}\r\n`;
const validEvent = JSON.stringify({
  id: 'never-stored-raw',
  principal_id: 'user_1',
  type: 'api.request',
  occurred_at: '2026-02-11T10:30:00Z',
  data: {},
});

/**
 * Byte streams that break HTTP/1.1 itself rather than the API: each must get a 4xx problem (or, when the peer's bytes
 * never form a request, no answer at all) and must never store anything: the event they carry has an id no test
 * acknowledges.
 */
export const transportGarbage: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  fc
    .tuple(
      fc.constantFrom('GET', 'POST', 'get', 'P0ST', 'G E T', ''),
      fc.uint8Array({ maxLength: 60 }),
    )
    .map(([method, bytes]) =>
      Buffer.concat([
        Buffer.from(`${method} /v1/`),
        Buffer.from(bytes),
        Buffer.from(' HTTP/1.1\r\nhost: x\r\n\r\n'),
      ]),
    ),
  fc
    .constantFrom(
      crlf('GET /health HTTP/9.9', 'host: x', ''),
      crlf('GET /health', 'host: x', ''),
      crlf('GET  HTTP/1.1', 'host: x', ''),
      crlf('GET http://evil.example/v1/state/user_1 HTTP/1.1', 'host: x', ''),
      'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
      crlf('GET /health HTTP/1.1', 'host: x', 'bad header line', ''),
      crlf('GET /health HTTP/1.1', 'host: x', 'bad name: v', ''),
      crlf('GET /health HTTP/1.1', 'host: x', `x-long: ${'a'.repeat(20_000)}`, ''),
      crlf('GET /health HTTP/1.1', 'host: x', 'x-nul: a\u0000b', ''),
      crlf('GET /health HTTP/1.1', 'host: x', 'x-cr: a\rb', ''),
      crlf(
        'POST /v1/events HTTP/1.1',
        'host: x',
        'content-type: application/json',
        'content-length: -1',
        '',
      ) +
        '\r\n' +
        validEvent,
      crlf(
        'POST /v1/events HTTP/1.1',
        'host: x',
        'content-type: application/json',
        'content-length: abc',
        '',
      ) +
        '\r\n' +
        validEvent,
      crlf(
        'POST /v1/events HTTP/1.1',
        'host: x',
        'content-type: application/json',
        'content-length: 5',
        `content-length: ${validEvent.length}`,
        '',
      ) +
        '\r\n' +
        validEvent,
      crlf(
        'POST /v1/events HTTP/1.1',
        'host: x',
        'content-type: application/json',
        `content-length: ${validEvent.length}`,
        'transfer-encoding: chunked',
        '',
      ) +
        '\r\n' +
        validEvent,
      crlf(
        'POST /v1/events HTTP/1.1',
        'host: x',
        'content-type: application/json',
        'transfer-encoding: chunked',
        '',
      ) +
        '\r\nZZ\r\n' +
        validEvent +
        '\r\n0\r\n\r\n',
      crlf(
        'POST /v1/events HTTP/1.1',
        'host: x',
        'content-type: application/json',
        'transfer-encoding: chunked',
        '',
      ) + `\r\n${(validEvent.length + 50).toString(16)}\r\n${validEvent}\r\n0\r\n\r\n`,
      crlf(
        'POST /v1/events HTTP/1.1',
        'host: x',
        'content-type: application/json',
        'transfer-encoding: gzip, chunked',
        '',
      ) + `\r\n${validEvent.length.toString(16)}\r\n${validEvent}\r\n0\r\n\r\n`,
      crlf(
        'POST /v1/events HTTP/1.1',
        'host: x',
        'content-type: application/json',
        'transfer-encoding: identity',
        '',
      ) +
        '\r\n' +
        validEvent,
      crlf(
        'POST /v1/events HTTP/1.1',
        'host: x',
        'content-type: application/json',
        `content-length: ${validEvent.length + 100}`,
        '',
      ) +
        '\r\n' +
        validEvent,
      crlf(
        'POST /v1/events HTTP/1.1',
        'host: x',
        'content-type: application/json',
        'content-length: 10',
        '',
      ) +
        '\r\n' +
        validEvent,
      crlf(
        'POST /v1/events HTTP/1.1',
        'content-type: application/json',
        `content-length: ${validEvent.length}`,
        '',
      ) +
        '\r\n' +
        validEvent.replace('api.request', 'api.request"'),
      crlf('GET /health HTTP/1.1', 'host: x', '') + '\r\n' + crlf('NOT-HTTP AT ALL', ''),
      crlf('GET /health HTTP/1.1', 'host: x', 'expect: 100-continue', ''),
    )
    .map((text) => Buffer.from(text, 'latin1')),
);

/** Valid and near-valid envelopes (ids as placeholders), for the envelope round-trip property. */
export const hostileEnvelope: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  validEnvelope,
  nearValidEnvelope,
);
