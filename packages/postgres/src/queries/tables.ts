import { quoteSchema } from '../schema/migrate.js';

/** Schema-qualified, quoted table names, built once per storage. */
export interface Tables {
  readonly events: string;
  readonly streams: string;
  /** The LISTEN/NOTIFY channel of appends to this schema's log, from {@link appendChannelOf}. */
  readonly appendChannel: string;
}

/**
 * The channel an append to `schema` notifies on commit: `aevon_events_<schema>`, cut to PostgreSQL's 63-byte
 * identifier length (a notification is only a hint, so two long schema names sharing a channel cost a spare wake-up,
 * never a missed event). The name is plain lower-case ASCII, so it needs no quoting in `LISTEN`.
 */
export function appendChannelOf(schema: string): string {
  return `aevon_events_${schema}`.slice(0, 63);
}

/** The tables of `schema`. @throws AEV_CONFIG_INVALID for a schema name that is not a plain identifier. */
export function tablesOf(schema: string): Tables {
  const quoted = quoteSchema(schema);
  return {
    events: `${quoted}.events`,
    streams: `${quoted}.streams`,
    appendChannel: appendChannelOf(schema),
  };
}
