// The seed's quick start (../shared/seeds/aevon.md §4–5), word for word: the event it ingests, the state query it
// sends and the answer it shows. Tests on every layer (engine, server, the spawned CLI) check against these.

/** The event of the seed's `curl -X POST /v1/events`. */
export const seedEvent = {
  id: 'evt-001',
  principal_id: 'user_123',
  type: 'api.request',
  schema_version: 0,
  occurred_at: '2026-02-11T10:30:00Z',
  data: {},
} as const;

/** The query string of the seed's state request. */
export const seedStateQuery =
  'rule=count_api_requests&start=2026-02-11T10:00:00Z&end=2026-02-11T11:00:00Z&granularity=total';

/** The seed's state request path, with its query string. */
export const seedStatePath = `/v1/state/user_123?${seedStateQuery}`;

/** The seed's example state response, for a query made after the hour has passed. */
export const seedState = {
  principal_id: 'user_123',
  rule: 'count_api_requests',
  operator: 'count',
  start: '2026-02-11T10:00:00Z',
  end: '2026-02-11T11:00:00Z',
  granularity: 'total',
  data_through: '2026-02-11T11:00:00Z',
  staleness_seconds: 0,
  values: [
    {
      window_start: '2026-02-11T10:00:00Z',
      window_end: '2026-02-11T11:00:00Z',
      value: '1',
      event_count: 1,
    },
  ],
};
