import type { ErrorDetailsByCode } from '@aevon/core';
import { AevonError } from '@aevon/core';
import type { Value } from '../store/aggregate-store.js';
import { valueText } from './values.js';

/** The constraint an `AEV_AGGREGATE_CONFLICT` names. */
export type AggregateConstraint = ErrorDetailsByCode['AEV_AGGREGATE_CONFLICT']['constraint'];

/** The one constructor of `AEV_AGGREGATE_CONFLICT`, shared by the reference model and every store. */
export function aggregateConflict(
  aggregate: string,
  column: string,
  constraint: AggregateConstraint,
  reason: string,
): AevonError<'AEV_AGGREGATE_CONFLICT'> {
  return new AevonError('AEV_AGGREGATE_CONFLICT', { aggregate, column, constraint, reason });
}

/** A `references` conflict: no row of `aggregate` has `column = value`. */
export function missingRowConflict(
  aggregate: string,
  column: string,
  value: Value,
): AevonError<'AEV_AGGREGATE_CONFLICT'> {
  return aggregateConflict(
    aggregate,
    column,
    'references',
    `no ${aggregate} row has ${column} = ${valueText(value)}`,
  );
}
