import { invalidRequest } from '../errors/aevon-error.js';

/** Tells whether a stream id matches a pattern. */
export type StreamMatcher = (stream: string) => boolean;

/** Characters in one stream pattern, at most. */
export const streamPatternLengthMax = 512;

/**
 * Compiles a stream path pattern (eventd's REST-like stream paths) into a matcher. Patterns and stream ids are
 * `/`-separated paths; a leading `/` on either is ignored, so `/accounts/*` matches stream `accounts/42`.
 *
 * - a literal segment matches itself;
 * - `*` matches exactly one segment, and so does a placeholder `{name}`, unless `values` binds `name`, in which case
 *   it matches only that value (`/accounts/{id}` with `{ id: '42' }` matches `accounts/42` alone);
 * - `**` matches any number of segments, zero included (`/accounts/**` matches `accounts`, `accounts/42` and
 *   `accounts/42/orders/7`).
 * @throws AEV_REQUEST_INVALID (field `field`) for an empty or too long pattern, an empty segment, or a segment that
 *   mixes a wildcard or a placeholder with other characters.
 */
export function compileStreamPattern(
  pattern: string,
  values: Readonly<Record<string, string>> = {},
  field = 'stream',
): StreamMatcher {
  if (
    typeof pattern !== 'string' ||
    pattern.length === 0 ||
    pattern.length > streamPatternLengthMax
  ) {
    throw invalidRequest(`a stream pattern is 1 to ${streamPatternLengthMax} characters`, field);
  }
  const segments = splitPath(pattern).map((segment) => parseSegment(segment, values, field));
  return (stream) => matchSegments(segments, 0, splitPath(stream), 0);
}

type Segment =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'one' }
  | { readonly kind: 'any' };

function splitPath(path: string): string[] {
  return (path.startsWith('/') ? path.slice(1) : path).split('/');
}

function parseSegment(
  segment: string,
  values: Readonly<Record<string, string>>,
  field: string,
): Segment {
  if (segment === '**') return { kind: 'any' };
  if (segment === '*') return { kind: 'one' };
  const placeholder = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/.exec(segment);
  if (placeholder?.[1] !== undefined) {
    const value = values[placeholder[1]];
    return value === undefined ? { kind: 'one' } : { kind: 'literal', text: value };
  }
  if (segment.length === 0) throw invalidRequest('a stream pattern has an empty segment', field);
  if (/[*{}]/.test(segment)) {
    throw invalidRequest(
      `segment ${JSON.stringify(segment)}: *, ** and {name} stand alone between slashes`,
      field,
    );
  }
  return { kind: 'literal', text: segment };
}

function matchSegments(
  pattern: readonly Segment[],
  p: number,
  path: readonly string[],
  s: number,
): boolean {
  for (; p < pattern.length; p += 1) {
    const segment = pattern[p];
    if (segment === undefined) return false;
    if (segment.kind === 'any') {
      // Try every split; patterns are short, and a run of `**` collapses to one try per remaining segment.
      for (let rest = s; rest <= path.length; rest += 1) {
        if (matchSegments(pattern, p + 1, path, rest)) return true;
      }
      return false;
    }
    const part = path[s];
    if (part === undefined) return false;
    if (segment.kind === 'literal' && segment.text !== part) return false;
    if (segment.kind === 'one' && part.length === 0) return false;
    s += 1;
  }
  return s === path.length;
}
