import type { FastifyInstance, FastifyRequest } from 'fastify';
import { invalidRequest } from '@aevon/core';
import { TransportError } from './transport-error.js';
import { transportStatus } from './status-by-code.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Replaces Fastify's JSON body parser with one that takes the body as bytes and refuses what Fastify would silently
 * change: a body that is not valid UTF-8 (Fastify decodes it with U+FFFD replacement characters, so an id with a stray
 * byte would be stored as another id) is 400 `AEV_REQUEST_INVALID`; a `charset` other than UTF-8 and any
 * `Content-Encoding` other than `identity` (Fastify does not decompress) are 415. The JSON itself is parsed by Fastify's
 * own parser, which keeps its `__proto__`/`constructor` poisoning checks. On the routes `allowsTrailingCommas` names,
 * a comma just before `}` or `]` (outside strings) is dropped first: the one leniency the Eventd seed's examples need.
 */
export function registerJsonBodyParser(
  app: FastifyInstance,
  options: { readonly allowsTrailingCommas?: (route: string | undefined) => boolean } = {},
): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const allowsTrailingCommas = options.allowsTrailingCommas ?? (() => false);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      checkEncoding(request);
      const text = decodeUtf8(body as Buffer);
      const lenient = allowsTrailingCommas(request.routeOptions.url);
      void parseJson(request, lenient ? withoutTrailingCommas(text) : text, done);
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

function checkEncoding(request: FastifyRequest): void {
  const encoding = request.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
    throw new TransportError(
      transportStatus.unsupportedMediaType,
      'the request body must not be compressed (Content-Encoding is not supported)',
      'content-encoding',
    );
  }
  const charset = charsetOf(request.headers['content-type'] ?? '');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new TransportError(
      transportStatus.unsupportedMediaType,
      'the request body must be JSON in UTF-8 (Content-Type: application/json; charset=utf-8)',
      'content-type',
    );
  }
}

/** The lower-cased `charset` parameter of a Content-Type, or undefined when it has none. */
function charsetOf(contentType: string): string | undefined {
  for (const parameter of contentType.split(';').slice(1)) {
    const [name = '', value = ''] = parameter.split('=', 2);
    if (name.trim().toLowerCase() !== 'charset') continue;
    return value
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase();
  }
  return undefined;
}

function decodeUtf8(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    throw invalidRequest('the request body is not valid UTF-8', 'body');
  }
}

/**
 * The JSON text without the commas that directly precede (whitespace aside) a closing `}` or `]`, outside strings:
 * `{"a": 1,}` → `{"a": 1}`. Everything else is left to the JSON parser, so `[,]` or `{,}` stay errors.
 */
export function withoutTrailingCommas(text: string): string {
  const dropped: number[] = [];
  let isInString = false;
  // The last comma outside strings with only whitespace after it, and the significant character before it.
  let comma = -1;
  let beforeComma = '';
  let last = '';
  for (let index = 0; index < text.length; index += 1) {
    const char = text.charAt(index);
    if (isInString) {
      if (char === '\\') index += 1;
      else if (char === '"') isInString = false;
      last = '"';
      continue;
    }
    if (char === ' ' || char === '\t' || char === '\n' || char === '\r') continue;
    const isAfterValue = beforeComma !== '' && !'{[,'.includes(beforeComma);
    if ((char === '}' || char === ']') && comma >= 0 && isAfterValue) dropped.push(comma);
    if (char === ',') {
      comma = index;
      beforeComma = last;
    } else comma = -1;
    if (char === '"') isInString = true;
    last = char;
  }
  if (dropped.length === 0) return text;
  const parts: string[] = [];
  let start = 0;
  for (const index of dropped) {
    parts.push(text.slice(start, index));
    start = index + 1;
  }
  parts.push(text.slice(start));
  return parts.join('');
}
