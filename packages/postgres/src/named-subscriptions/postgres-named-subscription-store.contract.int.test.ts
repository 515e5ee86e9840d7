import { describeNamedSubscriptionStoreContract } from '@aevon/conformance';
import { postgresStoreTargets } from '../../../../test/support/postgres.js';
import { createPostgresNamedSubscriptionStore } from './postgres-named-subscription-store.js';

// One database for the file and a fresh schema per test; the second store has its own pool, as another node would.
describeNamedSubscriptionStoreContract(
  'postgres',
  postgresStoreTargets('named', createPostgresNamedSubscriptionStore),
);
