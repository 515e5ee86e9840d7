// The Eventd seed's examples (shared/seeds/eventd.md) as the end-to-end tests use them: its DDL as one migration
// file, exactly as written and with its one typo fixed, and its two HTTP requests byte for byte.
import {
  accountCreatedEventType,
  eventdExamples,
} from '../../packages/ddl/src/eventd-examples.fixture.js';

/** The seed's DDL blocks as one migration file, exactly as the specification writes them. */
export const seedMigration = `${eventdExamples.join(';\n\n')};\n`;
/** The same with the one typo fixed: `billing_last_name updates billing_contact(last_name)`. */
export const fixedSeedMigration = seedMigration.replace(
  accountCreatedEventType,
  accountCreatedEventType.replace(
    'billing_last_name   updates billing_contact(first_name)',
    'billing_last_name   updates billing_contact(last_name)',
  ),
);

/** The seed's first POST, as written (headers and body byte for byte). */
export const seedPost1 = {
  method: 'POST' as const,
  url: '/streams/account_events',
  headers: { 'content-type': 'application/json', 'xevent-type': 'account_created' },
  payload: `{
  "name":"test account",
  "billing_first_name": "Bob",
  "billing_last_name": "Test",
  "send_notification": true,
}`,
};

/** The seed's second POST, as written. */
export const seedPost2 = {
  method: 'POST' as const,
  url: '/streams/account_events/123',
  headers: { 'content-type': 'application/json', 'xevent-type': 'account_name_updated' },
  payload: `{
  "account_id": 123,
  "name": "test account 2"
}`,
};
