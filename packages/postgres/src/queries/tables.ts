import { quoteSchema } from '../schema/migrate.js';

/** Schema-qualified, quoted table names, built once per storage. */
export interface Tables {
  readonly events: string;
  readonly streams: string;
}

/** The tables of `schema`. @throws AEV_CONFIG_INVALID for a schema name that is not a plain identifier. */
export function tablesOf(schema: string): Tables {
  const quoted = quoteSchema(schema);
  return { events: `${quoted}.events`, streams: `${quoted}.streams` };
}
