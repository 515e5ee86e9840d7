import type { EventData, RecordedEvent } from '@aevon/core';
import { formatSequencePosition } from '@aevon/core';

/** The columns of `events`, in the order every read selects them. */
export const eventColumns =
  'position, id, stream, revision, type, schema_version, data, metadata, occurred_at, recorded_at, ' +
  'correlation_id, causation_id';

/** One `events` row as read with safe integers on (every INTEGER arrives as a bigint). */
export interface EventRow {
  readonly position: bigint;
  readonly id: string;
  readonly stream: string;
  readonly revision: bigint;
  readonly type: string;
  readonly schema_version: bigint;
  readonly data: string;
  readonly metadata: string;
  readonly occurred_at: string;
  readonly recorded_at: string;
  readonly correlation_id: string | null;
  readonly causation_id: string | null;
}

/** Maps a stored row back to the event it records. */
export function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.id,
    type: row.type,
    // The write path stored these with JSON.stringify from already validated objects.
    data: JSON.parse(row.data) as EventData,
    metadata: JSON.parse(row.metadata) as Readonly<Record<string, string>>,
    schemaVersion: Number(row.schema_version),
    occurredAt: row.occurred_at,
    recordedAt: row.recorded_at,
    correlationId: row.correlation_id,
    causationId: row.causation_id,
    stream: row.stream,
    revision: row.revision,
    position: formatSequencePosition(row.position),
  };
}
