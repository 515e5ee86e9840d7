import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Problem } from './problem.js';
import { createProblem, problemContentType } from './problem.js';
import { transportStatus } from './status-by-code.js';

/** A request the HTTP parser could not read (`clientError`): Node's error with its `HPE_*` or `ERR_*` code. */
type ClientError = Error & { readonly code?: string };

/**
 * Answers a request that Node's HTTP parser rejected before Fastify saw it (a malformed request line or header, a bad
 * chunk size, both Content-Length and Transfer-Encoding, headers over the size limit, a timeout) with an
 * `AEV_REQUEST_INVALID` problem instead of Fastify's own JSON body, then closes the connection. Statuses: 431 for
 * oversized headers, 408 for a request timeout, 400 otherwise. Nothing is written when the peer is gone, or when a
 * response on the socket has already begun (writing then would corrupt it), as Node's own handler does.
 */
export function createClientErrorHandler(nextRequestId: () => string) {
  return (error: ClientError, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && inFlight?.headersSent !== true) {
      const problem = clientErrorProblem(error, nextRequestId());
      const body = JSON.stringify(problem);
      socket.write(
        `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? 'Bad Request'}\r\n` +
          `Content-Type: ${problemContentType}\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n` +
          `x-request-id: ${problem.request_id}\r\n` +
          'Connection: close\r\n\r\n' +
          body,
      );
    }
    socket.destroy();
  };
}

function clientErrorProblem(error: ClientError, requestId: string): Problem {
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    const reason = 'the request line and headers are larger than the server accepts';
    return createProblem({
      code: 'AEV_REQUEST_INVALID',
      detail: reason,
      details: { reason, field: 'headers' },
      requestId,
      status: transportStatus.requestHeaderFieldsTooLarge,
    });
  }
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    const reason = 'the request was not received in time';
    return createProblem({
      code: 'AEV_REQUEST_INVALID',
      detail: reason,
      details: { reason },
      requestId,
      status: transportStatus.requestTimeout,
    });
  }
  const reason = 'the request is not valid HTTP/1.1';
  return createProblem({
    code: 'AEV_REQUEST_INVALID',
    detail: reason,
    details: { reason },
    requestId,
  });
}
