/**
 * A request the HTTP layer refuses before any domain code runs, at a status that refines `AEV_REQUEST_INVALID`
 * (`transportStatus`: 415, 405, 431, 408 …). It never leaves the server package: the error handler answers it as an
 * `AEV_REQUEST_INVALID` problem with this status, and its reason describes the request, never the server.
 */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly field: string,
  ) {
    super(reason);
  }
}
