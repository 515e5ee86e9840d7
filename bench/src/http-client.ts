import { Agent, request } from 'node:http';

/** One HTTP answer, its body read to the end. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
  /** The `Retry-After` header, when the answer has one. */
  readonly retryAfter?: string;
}

/** A keep-alive HTTP/1.1 client on one base URL, as a metering client would hold one. */
export interface HttpClient {
  get(path: string): Promise<HttpAnswer>;
  /** POSTs a JSON body (already serialized, so that serializing is not part of a timed request). */
  post(path: string, json: string): Promise<HttpAnswer>;
  /** Closes every pooled connection. */
  close(): void;
}

/**
 * Creates a {@link HttpClient} on node:http with a keep-alive agent of at most `socketsMax` connections. node:http
 * rather than fetch: on a small machine the client shares the CPU with the server, and node:http costs the client
 * less per request, so the figures say more about the server.
 */
export function createHttpClient(baseUrl: string, socketsMax: number): HttpClient {
  const url = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: socketsMax });
  const send = (method: string, path: string, json?: string): Promise<HttpAnswer> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string | number> =
        json === undefined
          ? {}
          : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) };
      const req = request(
        { host: url.hostname, port: url.port, path, method, agent, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const body = Buffer.concat(chunks).toString('utf8');
            const retryAfter = res.headers['retry-after'];
            resolve(retryAfter === undefined ? { status, body } : { status, body, retryAfter });
          });
        },
      );
      req.on('error', reject);
      req.end(json);
    });
  return {
    get: (path) => send('GET', path),
    post: (path, json) => send('POST', path, json),
    close: () => agent.destroy(),
  };
}

/** Throws with the answer's status and the start of its body unless the status is `expected`. */
export function expectStatus(answer: HttpAnswer, expected: number, what: string): void {
  if (answer.status !== expected) {
    throw new Error(
      `${what}: HTTP ${answer.status}, expected ${expected}: ${answer.body.slice(0, 500)}`,
    );
  }
}
