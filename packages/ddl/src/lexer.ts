import { ddlError } from './ddl-error.js';
import type { SourcePosition } from './model.js';

/**
 * A token of DDL text. Identifiers are folded to lower case unless quoted (`"Name"`), as in PostgreSQL;
 * `quoted` tells the parser a word can never be a keyword.
 */
export type Token =
  | {
      readonly kind: 'word';
      readonly value: string;
      readonly quoted: boolean;
      readonly at: SourcePosition;
    }
  | { readonly kind: 'string'; readonly value: string; readonly at: SourcePosition }
  | { readonly kind: 'number'; readonly value: string; readonly at: SourcePosition }
  | { readonly kind: 'punct'; readonly value: Punct; readonly at: SourcePosition }
  | { readonly kind: 'end'; readonly at: SourcePosition };

export type Punct = '(' | ')' | ',' | ';' | '[' | ']' | '-' | '+';

/** PostgreSQL's NAMEDATALEN - 1: longer identifiers are an error here rather than silently truncated. */
export const identifierLengthMax = 63;

const puncts: ReadonlySet<string> = new Set(['(', ')', ',', ';', '[', ']', '-', '+']);

/** Splits DDL text into tokens, dropping white space and `--` and nested-free `/* *\/` comments. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const here = (): SourcePosition => ({ line, column: i - lineStart + 1 });
  const newline = (): void => {
    line++;
    lineStart = i + 1;
  };

  while (i < text.length) {
    const c = text[i] as string;
    if (c === '\n') {
      newline();
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f') {
      i++;
      continue;
    }
    if (c === '-' && text[i + 1] === '-') {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const at = here();
      i += 2;
      while (i < text.length && !(text[i] === '*' && text[i + 1] === '/')) {
        if (text[i] === '\n') newline();
        i++;
      }
      if (i >= text.length)
        throw ddlError('unterminated comment: expected "*/", found end of input', at);
      i += 2;
      continue;
    }
    const at = here();
    if (isIdentStart(c)) {
      const start = i;
      while (i < text.length && isIdentPart(text[i] as string)) i++;
      const value = text.slice(start, i);
      checkLength(value, at);
      tokens.push({ kind: 'word', value: value.toLowerCase(), quoted: false, at });
      continue;
    }
    if (c === '"' || c === "'") {
      const value = readQuoted(c);
      if (c === "'") tokens.push({ kind: 'string', value, at });
      else {
        if (value === '')
          throw ddlError('expected an identifier, found empty quoted identifier ""', at);
        checkLength(value, at);
        tokens.push({ kind: 'word', value, quoted: true, at });
      }
      continue;
    }
    if (isDigit(c) || (c === '.' && isDigit(text[i + 1] ?? ''))) {
      const start = i;
      while (isDigit(text[i] ?? '')) i++;
      if (text[i] === '.') {
        i++;
        while (isDigit(text[i] ?? '')) i++;
      }
      if (text[i] === 'e' || text[i] === 'E') {
        const save = i;
        i++;
        if (text[i] === '+' || text[i] === '-') i++;
        if (!isDigit(text[i] ?? '')) i = save;
        else while (isDigit(text[i] ?? '')) i++;
      }
      if (isIdentStart(text[i] ?? '')) {
        throw ddlError(
          `expected a separator after number ${text.slice(start, i)}, found ${JSON.stringify(text[i])}`,
          here(),
        );
      }
      tokens.push({ kind: 'number', value: text.slice(start, i), at });
      continue;
    }
    if (puncts.has(c)) {
      tokens.push({ kind: 'punct', value: c as Punct, at });
      i++;
      continue;
    }
    throw ddlError(
      `expected a statement element, found unexpected character ${JSON.stringify(c)}`,
      at,
    );
  }
  tokens.push({ kind: 'end', at: here() });
  return tokens;

  /** Reads a quoted run starting at `text[i] === quote`; a doubled quote stands for one. */
  function readQuoted(quote: string): string {
    const at = here();
    let value = '';
    i++;
    for (;;) {
      if (i >= text.length) {
        const what = quote === "'" ? 'string' : 'quoted identifier';
        throw ddlError(`unterminated ${what}: expected ${quote}, found end of input`, at);
      }
      const ch = text[i] as string;
      if (ch === quote) {
        if (text[i + 1] === quote) {
          value += quote;
          i += 2;
          continue;
        }
        i++;
        return value;
      }
      if (ch === '\n') newline();
      value += ch;
      i++;
    }
  }
}

function checkLength(value: string, at: SourcePosition): void {
  if (value.length > identifierLengthMax) {
    throw ddlError(
      `identifier ${JSON.stringify(value.slice(0, 20) + '…')} is ${value.length} characters long; ` +
        `at most ${identifierLengthMax} are allowed`,
      at,
    );
  }
}

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}

function isIdentPart(c: string): boolean {
  return isIdentStart(c) || isDigit(c) || c === '$';
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

/** How a token reads in "found ..." of an error message. */
export function describeToken(token: Token): string {
  switch (token.kind) {
    case 'word':
      return token.quoted ? `identifier "${token.value}"` : `"${token.value}"`;
    case 'string':
      return `string '${token.value.length > 30 ? token.value.slice(0, 30) + '…' : token.value}'`;
    case 'number':
      return `number ${token.value}`;
    case 'punct':
      return `"${token.value}"`;
    case 'end':
      return 'end of input';
  }
}
