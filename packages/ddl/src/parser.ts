import { ddlError } from './ddl-error.js';
import { checkStatement, checkType, pathPlaceholders } from './check-statement.js';
import { defaultProblem } from './data-type.js';
import type { Punct, Token } from './lexer.js';
import { describeToken, tokenize } from './lexer.js';
import type {
  AggregateAlteration,
  AggregateDefinition,
  ColumnDefinition,
  ColumnRef,
  DataType,
  DefaultValue,
  DefinitionKind,
  EventTypeAlteration,
  EventTypeDefinition,
  FieldDefinition,
  LinkKind,
  SourcePosition,
  Statement,
  StreamAlteration,
  StreamDefinition,
  TypeName,
} from './model.js';

/** Statements in one text, at most: a bound on work for any input, far above any real schema. */
export const statementsMax = 10_000;

/**
 * Parses DDL text into statements, in order. Statements are separated by `;` (the last one may omit it); `--` and
 * `/* *\/` comments, any case of keywords, quoted identifiers and `'strings'` are accepted. Each statement is also
 * checked on its own (types, defaults, duplicate names: see `checkStatement`); checks across statements are
 * `checkDefinitions`. Throws `AEV_DDL_INVALID` whose message starts `line L, column C:`.
 */
export function parseDdl(text: string): Statement[] {
  const parser = new Parser(tokenize(text));
  const statements = parser.statements();
  for (const statement of statements) checkStatement(statement);
  return statements;
}

/** Parses one type as written in DDL (`varchar(40)`, `numeric(10, 2)`, `text[]`); for builders and tools. */
export function parseDataType(text: string): DataType {
  const parser = new Parser(tokenize(text));
  const type = parser.dataType();
  parser.end();
  return type;
}

/** Words that start a constraint, so a column without a type (`account_id references account(id)`) parses. */
const constraintWords: ReadonlySet<string> = new Set([
  'primary',
  'not',
  'null',
  'default',
  'unique',
  'references',
  'creates',
  'updates',
]);

/** Type names and their aliases, as PostgreSQL accepts them (multi-word ones are handled in `dataType`). */
const typeAliases: ReadonlyMap<string, TypeName> = new Map<string, TypeName>([
  ['smallint', 'smallint'],
  ['int2', 'smallint'],
  ['integer', 'integer'],
  ['int', 'integer'],
  ['int4', 'integer'],
  ['bigint', 'bigint'],
  ['int8', 'bigint'],
  ['smallserial', 'smallserial'],
  ['serial2', 'smallserial'],
  ['serial', 'serial'],
  ['serial4', 'serial'],
  ['bigserial', 'bigserial'],
  ['serial8', 'bigserial'],
  ['numeric', 'numeric'],
  ['decimal', 'numeric'],
  ['real', 'real'],
  ['float4', 'real'],
  ['float8', 'double precision'],
  ['boolean', 'boolean'],
  ['bool', 'boolean'],
  ['text', 'text'],
  ['varchar', 'varchar'],
  ['char', 'char'],
  ['uuid', 'uuid'],
  ['date', 'date'],
  ['timestamp', 'timestamp'],
  ['timestamptz', 'timestamptz'],
  ['jsonb', 'jsonb'],
]);

class Parser {
  private index = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  statements(): Statement[] {
    const result: Statement[] = [];
    for (;;) {
      while (this.acceptPunct(';'));
      if (this.peek().kind === 'end') return result;
      if (result.length >= statementsMax) {
        throw ddlError(`a text holds at most ${statementsMax} statements`, this.peek().at);
      }
      result.push(this.statement());
      if (this.peek().kind !== 'end') this.expectPunct(';', '";" or end of input');
    }
  }

  end(): void {
    const token = this.peek();
    if (token.kind !== 'end') this.fail('end of input', token);
  }

  private statement(): Statement {
    const token = this.peek();
    if (this.acceptWord('create')) return this.create(token.at);
    if (this.acceptWord('drop')) return this.drop(token.at);
    if (this.acceptWord('alter')) return this.alter(token.at);
    return this.fail('CREATE, DROP or ALTER', token);
  }

  /** `AGGREGATE`, `EVENT_TYPE` (or `EVENT TYPE`) or `STREAM`. */
  private definitionKind(): DefinitionKind {
    const token = this.peek();
    if (this.acceptWord('aggregate')) return 'aggregate';
    if (this.acceptWord('event_type')) return 'event_type';
    if (this.acceptWord('event')) {
      this.expectWord('type');
      return 'event_type';
    }
    if (this.acceptWord('stream')) return 'stream';
    return this.fail('AGGREGATE, EVENT_TYPE or STREAM', token);
  }

  private create(at: SourcePosition): Statement {
    const kind = this.definitionKind();
    const name = this.name(`${kindLabel(kind)} name`);
    switch (kind) {
      case 'aggregate': {
        const columns = this.list(() => this.item('column') as ColumnDefinition);
        return { kind: 'aggregate', name, columns, at } satisfies AggregateDefinition;
      }
      case 'event_type': {
        const fields = this.list(() => this.item('field') as FieldDefinition);
        return { kind: 'event_type', name, fields, at } satisfies EventTypeDefinition;
      }
      case 'stream':
        return this.streamBody(name, at);
    }
  }

  private drop(at: SourcePosition): Statement {
    const target = this.definitionKind();
    const ifExists = this.acceptWord('if');
    if (ifExists) this.expectWord('exists');
    const name = this.name(`${kindLabel(target)} name`);
    return ifExists
      ? { kind: 'drop', target, name, ifExists: true, at }
      : { kind: 'drop', target, name, at };
  }

  private alter(at: SourcePosition): Statement {
    const kind = this.definitionKind();
    const name = this.name(`${kindLabel(kind)} name`);
    switch (kind) {
      case 'aggregate':
        return {
          kind: 'alter_aggregate',
          name,
          actions: this.actions(() => this.aggregateAction()),
          at,
        };
      case 'event_type':
        return {
          kind: 'alter_event_type',
          name,
          actions: this.actions(() => this.eventTypeAction()),
          at,
        };
      case 'stream':
        return { kind: 'alter_stream', name, actions: this.actions(() => this.streamAction()), at };
    }
  }

  private actions<T>(one: () => T): T[] {
    const result = [one()];
    while (this.acceptPunct(',')) result.push(one());
    return result;
  }

  private aggregateAction(): AggregateAlteration {
    const token = this.peek();
    const at = token.at;
    if (this.acceptWord('add')) {
      this.acceptWord('column');
      return { action: 'add_column', column: this.item('column'), at };
    }
    if (this.acceptWord('drop')) {
      this.acceptWord('column');
      return { action: 'drop_column', column: this.name('column name'), at };
    }
    if (this.acceptWord('alter')) {
      this.acceptWord('column');
      const column = this.name('column name');
      const change = this.memberChange();
      return change.action === 'set_type'
        ? { action: 'set_type', column, type: change.type, at }
        : change.action === 'set_default'
          ? { action: 'set_default', column, default: change.default, at }
          : { action: change.action, column, at };
    }
    return this.fail('ADD, DROP or ALTER', token);
  }

  private eventTypeAction(): EventTypeAlteration {
    const token = this.peek();
    const at = token.at;
    if (this.acceptWord('add')) {
      this.acceptWord('field');
      return { action: 'add_field', field: this.item('field'), at };
    }
    if (this.acceptWord('drop')) {
      this.acceptWord('field');
      return { action: 'drop_field', field: this.name('field name'), at };
    }
    if (this.acceptWord('alter')) {
      this.acceptWord('field');
      const field = this.name('field name');
      const change = this.memberChange();
      return change.action === 'set_type'
        ? { action: 'set_type', field, type: change.type, at }
        : change.action === 'set_default'
          ? { action: 'set_default', field, default: change.default, at }
          : { action: change.action, field, at };
    }
    return this.fail('ADD, DROP or ALTER', token);
  }

  /** After `ALTER [COLUMN|FIELD] name`: `TYPE t`, `SET DATA TYPE t`, `SET|DROP DEFAULT`, `SET|DROP NOT NULL`. */
  private memberChange():
    | { action: 'set_type'; type: DataType }
    | { action: 'set_default'; default: DefaultValue }
    | { action: 'drop_default' | 'set_not_null' | 'drop_not_null' } {
    const token = this.peek();
    if (this.acceptWord('type')) return { action: 'set_type', type: this.dataType() };
    if (this.acceptWord('set')) {
      const next = this.peek();
      if (this.acceptWord('data')) {
        this.expectWord('type');
        return { action: 'set_type', type: this.dataType() };
      }
      if (this.acceptWord('default'))
        return { action: 'set_default', default: this.defaultValue() };
      if (this.acceptWord('not')) {
        this.expectWord('null');
        return { action: 'set_not_null' };
      }
      return this.fail('DATA TYPE, DEFAULT or NOT NULL', next);
    }
    if (this.acceptWord('drop')) {
      const next = this.peek();
      if (this.acceptWord('default')) return { action: 'drop_default' };
      if (this.acceptWord('not')) {
        this.expectWord('null');
        return { action: 'drop_not_null' };
      }
      return this.fail('DEFAULT or NOT NULL', next);
    }
    return this.fail('TYPE, SET or DROP', token);
  }

  private streamAction(): StreamAlteration {
    const token = this.peek();
    const at = token.at;
    const add = this.acceptWord('add');
    if (!add && !this.acceptWord('drop')) return this.fail('ADD or DROP', token);
    if (!this.acceptWord('event_type')) {
      this.expectWord('event', 'EVENT_TYPE');
      this.expectWord('type');
    }
    const eventType = this.name('event type name');
    return add
      ? { action: 'add_event_type', eventType, at }
      : { action: 'drop_event_type', eventType, at };
  }

  /**
   * `( item [,] item [,] ... )`: commas between items may be left out and a trailing comma is allowed, as the
   * examples of the Eventd specification do. An item that does not start with a name ends the list with an error.
   */
  private list<T>(item: () => T): T[] {
    this.expectPunct('(');
    const result: T[] = [];
    for (;;) {
      if (this.acceptPunct(')')) return result;
      if (result.length > 0 && !this.acceptPunct(',') && this.peek().kind !== 'word') {
        return this.fail('"," or ")"', this.peek());
      }
      if (this.acceptPunct(')')) return result;
      result.push(item());
    }
  }

  /**
   * A column (of an aggregate) or a field (of an event type): `name [type] constraint*`. The type may be left out
   * when a `references` (or, for fields, `creates`/`updates`) names the column the type comes from.
   */
  private item(context: 'column' | 'field'): ColumnDefinition | FieldDefinition {
    const at = this.peek().at;
    const name = this.name(`${context} name`);
    const first = this.peek();
    let type: DataType | undefined;
    if (first.kind !== 'word' || first.quoted)
      return this.fail(`a type for ${context} "${name}"`, first);
    if (!constraintWords.has(first.value)) type = this.dataType();
    const seen = new Set<string>();
    let primaryKey = false;
    let notNull = false;
    let unique = false;
    let defaultValue: DefaultValue | undefined;
    let ref: (ColumnRef & { kind: LinkKind }) | undefined;
    let nullAt: SourcePosition | undefined;

    for (;;) {
      const token = this.peek();
      if (token.kind !== 'word' || token.quoted || !constraintWords.has(token.value)) break;
      this.index++;
      let constraint = token.value;
      if (constraint === 'primary') this.expectWord('key');
      if (constraint === 'not') {
        this.expectWord('null');
        constraint = 'not null';
      }
      const label = constraint.toUpperCase();
      const isLink =
        constraint === 'references' || constraint === 'creates' || constraint === 'updates';
      if (context === 'column' && (constraint === 'creates' || constraint === 'updates')) {
        throw ddlError(
          `expected a column constraint, found "${constraint}" (it belongs to event type fields)`,
          token.at,
        );
      }
      if (context === 'field' && (constraint === 'primary' || constraint === 'unique')) {
        throw ddlError(
          `expected a field constraint, found "${constraint}" (it belongs to aggregate columns)`,
          token.at,
        );
      }
      const key = isLink ? 'link' : constraint === 'null' ? 'not null' : constraint;
      if (seen.has(key)) {
        throw ddlError(
          isLink
            ? `${context} "${name}" already names ${ref?.kind ?? 'a column'} ${ref?.aggregate ?? ''}(${ref?.column ?? ''}); one link per ${context}`
            : key === 'not null'
              ? `conflicting or repeated NULL/NOT NULL for ${context} "${name}"`
              : `${label} given twice for ${context} "${name}"`,
          token.at,
        );
      }
      seen.add(key);
      switch (constraint) {
        case 'primary':
          primaryKey = true;
          break;
        case 'not null':
          notNull = true;
          break;
        case 'null':
          nullAt = token.at;
          break;
        case 'unique':
          unique = true;
          break;
        case 'default': {
          defaultValue = this.defaultValue();
          const notNullHere = notNull || primaryKey;
          const problem =
            type === undefined ? undefined : defaultProblem(type, defaultValue, notNullHere);
          if (problem !== undefined) throw ddlError(`${context} "${name}": ${problem}`, token.at);
          break;
        }
        default:
          ref = { kind: constraint as LinkKind, ...this.columnRef() };
      }
    }
    if (type === undefined && ref === undefined) {
      return this.fail(`a type for ${context} "${name}"`, first);
    }
    void nullAt;
    if (context === 'column') {
      const column: {
        -readonly [K in keyof ColumnDefinition]: ColumnDefinition[K];
      } = { name };
      if (type !== undefined) column.type = type;
      if (primaryKey) column.primaryKey = true;
      if (notNull) column.notNull = true;
      if (unique) column.unique = true;
      if (defaultValue !== undefined) column.default = defaultValue;
      if (ref !== undefined) {
        column.references =
          ref.at === undefined
            ? { aggregate: ref.aggregate, column: ref.column }
            : { aggregate: ref.aggregate, column: ref.column, at: ref.at };
      }
      column.at = at;
      return column;
    }
    const field: { -readonly [K in keyof FieldDefinition]: FieldDefinition[K] } = { name };
    if (type !== undefined) field.type = type;
    if (ref !== undefined) field.link = ref;
    if (notNull) field.notNull = true;
    if (defaultValue !== undefined) field.default = defaultValue;
    field.at = at;
    return field;
  }

  /** `aggregate(column)`. */
  private columnRef(): ColumnRef {
    const at = this.peek().at;
    const aggregate = this.name('aggregate name');
    this.expectPunct('(');
    const column = this.name('column name');
    this.expectPunct(')');
    return { aggregate, column, at };
  }

  /** `( path '/accounts/{id}' [,] event_types (a, b) [,] )`; the path may also be written in double quotes. */
  private streamBody(name: string, at: SourcePosition): StreamDefinition {
    this.expectPunct('(');
    let path: string | undefined;
    let eventTypes: string[] | undefined;
    let count = 0;
    for (;;) {
      if (this.acceptPunct(')')) break;
      if (count > 0 && !this.acceptPunct(',') && this.peek().kind !== 'word') {
        return this.fail('"," or ")"', this.peek());
      }
      if (this.acceptPunct(')')) break;
      const token = this.peek();
      if (this.acceptWord('path')) {
        if (path !== undefined) throw ddlError(`PATH given twice for stream "${name}"`, token.at);
        const value = this.peek();
        if (value.kind === 'string' || (value.kind === 'word' && value.quoted)) {
          this.index++;
          pathPlaceholders(value.value, value.at);
          path = value.value;
        } else {
          return this.fail(`a quoted path such as '/accounts/{id}'`, value);
        }
      } else if (this.acceptWord('event_types')) {
        if (eventTypes !== undefined)
          throw ddlError(`EVENT_TYPES given twice for stream "${name}"`, token.at);
        this.expectPunct('(');
        eventTypes = [this.name('event type name')];
        for (;;) {
          if (this.acceptPunct(')')) break;
          this.expectPunct(',', '"," or ")"');
          if (this.acceptPunct(')')) break;
          const next = this.peek();
          const eventType = this.name('event type name');
          if (eventTypes.includes(eventType)) {
            throw ddlError(`stream "${name}" lists event type "${eventType}" twice`, next.at);
          }
          eventTypes.push(eventType);
        }
      } else {
        return this.fail('PATH or EVENT_TYPES', token);
      }
      count++;
    }
    if (path === undefined) throw ddlError(`stream "${name}" needs a PATH`, at);
    if (eventTypes === undefined) throw ddlError(`stream "${name}" needs EVENT_TYPES`, at);
    return { kind: 'stream', name, path, eventTypes, at };
  }

  /** A type: a name or alias, its modifiers, then an optional `[]`. */
  dataType(): DataType {
    const token = this.peek();
    if (token.kind !== 'word' || token.quoted) return this.fail('a type', token);
    this.index++;
    let name: TypeName | undefined;
    const word = token.value;
    if (word === 'double') {
      this.expectWord('precision');
      name = 'double precision';
    } else if (word === 'character') {
      name = this.acceptWord('varying') ? 'varchar' : 'char';
    } else {
      name = typeAliases.get(word);
    }
    if (name === undefined) return this.fail('a type', token);
    const type = this.typeModifiers(name);
    checkType(type, token.at);
    return type;
  }

  private typeModifiers(name: TypeName): DataType {
    const type: { -readonly [K in keyof DataType]: DataType[K] } = { name };
    if (name === 'varchar' || name === 'char') {
      if (this.acceptPunct('(')) {
        type.length = this.integer('a length');
        this.expectPunct(')');
      }
    } else if (name === 'numeric') {
      if (this.acceptPunct('(')) {
        type.precision = this.integer('a precision');
        if (this.acceptPunct(',')) type.scale = this.integer('a scale', true);
        this.expectPunct(')', type.scale === undefined ? '"," or ")"' : '")"');
      }
    } else if (name === 'timestamp' || name === 'timestamptz') {
      if (this.acceptPunct('(')) {
        type.precision = this.integer('a precision');
        this.expectPunct(')');
      }
      if (name === 'timestamp') {
        const zone = this.peek();
        if (this.acceptWord('with') || this.acceptWord('without')) {
          this.expectWord('time');
          this.expectWord('zone');
          if (zone.kind === 'word' && zone.value === 'with') type.name = 'timestamptz';
        }
      }
    }
    if (this.acceptPunct('[')) {
      this.expectPunct(']');
      type.array = true;
    }
    return type;
  }

  /** A non-negative integer (or, when `signed`, one with a leading `-`). */
  private integer(what: string, signed = false): number {
    const negative = signed && this.acceptPunct('-');
    const token = this.peek();
    if (token.kind !== 'number' || !/^\d+$/.test(token.value) || token.value.length > 9) {
      return this.fail(what, token);
    }
    this.index++;
    const value = Number(token.value);
    return negative ? -value : value;
  }

  /** A DEFAULT: a literal (string, number, TRUE, FALSE, NULL) or one of the default functions. */
  private defaultValue(): DefaultValue {
    const token = this.peek();
    if (token.kind === 'string') {
      this.index++;
      return { kind: 'literal', literal: { kind: 'string', value: token.value } };
    }
    const sign =
      token.kind === 'punct' && (token.value === '-' || token.value === '+') ? token.value : '';
    if (sign !== '') this.index++;
    const number = this.peek();
    if (number.kind === 'number') {
      this.index++;
      return {
        kind: 'literal',
        literal: { kind: 'number', text: normalizeNumber(sign + number.value) },
      };
    }
    if (sign !== '') return this.fail('a number', number);
    if (token.kind === 'word' && !token.quoted) {
      switch (token.value) {
        case 'true':
        case 'false':
          this.index++;
          return { kind: 'literal', literal: { kind: 'boolean', value: token.value === 'true' } };
        case 'null':
          this.index++;
          return { kind: 'literal', literal: { kind: 'null' } };
        case 'current_timestamp':
        case 'current_date':
          this.index++;
          return { kind: 'function', name: token.value };
        case 'now':
        case 'gen_random_uuid':
          this.index++;
          this.expectPunct('(');
          this.expectPunct(')');
          return { kind: 'function', name: token.value };
      }
    }
    return this.fail(
      'a default value (a literal, NOW(), CURRENT_TIMESTAMP, CURRENT_DATE or GEN_RANDOM_UUID())',
      token,
    );
  }

  /** An identifier: any word, keyword or not (a keyword is a name where a name is expected), or a quoted one. */
  private name(what: string): string {
    const token = this.peek();
    if (token.kind !== 'word') return this.fail(`${what}`, token);
    this.index++;
    return token.value;
  }

  private peek(): Token {
    return this.tokens[this.index] as Token;
  }

  private acceptWord(word: string): boolean {
    const token = this.peek();
    if (token.kind === 'word' && !token.quoted && token.value === word) {
      this.index++;
      return true;
    }
    return false;
  }

  private expectWord(word: string, label = word.toUpperCase()): void {
    if (!this.acceptWord(word)) this.fail(label, this.peek());
  }

  private acceptPunct(value: Punct): boolean {
    const token = this.peek();
    if (token.kind === 'punct' && token.value === value) {
      this.index++;
      return true;
    }
    return false;
  }

  private expectPunct(value: Punct, label = `"${value}"`): void {
    if (!this.acceptPunct(value)) this.fail(label, this.peek());
  }

  private fail(expected: string, found: Token): never {
    throw ddlError(`expected ${expected}, found ${describeToken(found)}`, found.at);
  }
}

function kindLabel(kind: DefinitionKind): string {
  return kind === 'event_type' ? 'event type' : kind;
}

/** Canonical decimal text of a number literal: no `+`, no leading zeros, lower-case exponent. */
function normalizeNumber(text: string): string {
  let t = text.startsWith('+') ? text.slice(1) : text;
  const negative = t.startsWith('-');
  if (negative) t = t.slice(1);
  t = t.replace(/E/, 'e');
  if (t.startsWith('.')) t = '0' + t;
  t = t.replace(/^0+(?=\d)/, '');
  return negative ? '-' + t : t;
}
