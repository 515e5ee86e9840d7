import { assert } from '@aevon/core';
import type { DefinitionsState } from '@aevon/ddl';
import { definitionsEventType, definitionsStream, foldDefinitions } from '@aevon/ddl';
import type { ClientBase, Pool } from 'pg';
import { selectStream } from '../queries/read.js';
import type { Tables } from '../queries/tables.js';
import type { AggregateNames } from './aggregate-tables.js';

/** Definitions events read per page when catching up. */
export const definitionsPageEventsMax = 1000;

/** Reads the definitions version; with `lock`, takes the row FOR SHARE (writers) or FOR UPDATE (changes). */
export async function readDefinitionsVersion(
  client: ClientBase | Pool,
  names: AggregateNames,
  lock: '' | 'FOR SHARE' | 'FOR UPDATE' = '',
): Promise<number> {
  const result = await client.query<{ version: number }>(
    `SELECT version FROM ${names.definitions} WHERE singleton ${lock}`,
  );
  const version = result.rows[0]?.version;
  assert(
    typeof version === 'number' && Number.isSafeInteger(version) && version >= 0,
    'the definitions version row exists',
  );
  return version;
}

/**
 * The definitions state at `version`: `known` when it is there already, else `known` advanced by the
 * `aevon.definitions_changed` events after it, read from the log (the event of version v is revision v - 1 of the
 * definitions stream) and folded on by `foldDefinitions`.
 */
export async function catchUpDefinitions(
  client: ClientBase | Pool,
  tables: Tables,
  known: DefinitionsState,
  version: number,
): Promise<DefinitionsState> {
  let state = known;
  while (state.version < version) {
    const events = await selectStream(client, tables, definitionsStream, {
      start: BigInt(state.version),
      startExclusive: false,
      end: BigInt(version - 1),
      endExclusive: false,
      limit: definitionsPageEventsMax,
      direction: 'forward',
    });
    assert(events.length > 0, `the definitions event of version ${state.version + 1} is stored`);
    assert(
      events.every((event) => event.type === definitionsEventType),
      'the definitions stream holds definitions events',
    );
    state = foldDefinitions(events, state);
  }
  return state;
}
