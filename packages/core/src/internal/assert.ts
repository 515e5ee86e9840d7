/**
 * A programmer error: an invariant that does not hold. It has no code; the server answers 500, logs it and the
 * process exits for its supervisor to restart it, so that it never carries on in a possibly corrupt state.
 */
export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

/** Always-on assertion (STYLE 2.7). Prefer it to `!` and to casts. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}
