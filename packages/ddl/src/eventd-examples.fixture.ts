// The DDL examples of the Eventd specification (shared/seeds/eventd.md, section "Examples"), copied verbatim,
// typos included (trailing commas, the missing commas after `billing_id ...` and after the stream's `path`, and
// `billing_last_name updates billing_contact(first_name)`), because every example must parse as written.
// Each is one code block of the specification, in its order; the HTTP examples are for the writing part.

export const accountAggregate = `CREATE AGGREGATE account (
    id          SERIAL PRIMARY KEY,
    name        varchar(40) NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT NOW(),
)`;

export const billingContactAggregate = `CREATE AGGREGATE billing_contact (
    id          SERIAL PRIMARY KEY,
    first_name  varchar(40) NOT NULL,
    last_name   varchar(40) NOT NULL,
    account_id  references account(id)
)`;

export const accountCreatedEventType = `CREATE EVENT_TYPE account_created (
    id                  creates account(id),
    name                updates account(name),
    created_at          updates account(created_at),
    billing_id          creates billing_contact(id)
    billing_first_name  updates billing_contact(first_name)
    billing_last_name   updates billing_contact(first_name)
    send_notification   boolean NOT NULL,
)`;

export const accountNameUpdatedEventType = `CREATE EVENT_TYPE account_name_updated (
    id                  references account(id),
    name                updates account(name),
)
`;

export const accountEventsStream = `CREATE STREAM account_events (
    path         "/accounts/{id}" -- \`{id}\` specifies that the events in this stream must have an \`id\` field to allow subscription filtering
    event_types  (account_created, account_name_updated)
)`;

/** The examples in the specification's order: each one defines what the later ones use. */
export const eventdExamples = [
  accountAggregate,
  billingContactAggregate,
  accountCreatedEventType,
  accountNameUpdatedEventType,
  accountEventsStream,
] as const;
