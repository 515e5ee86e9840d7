import { describeApiKeyStoreContract } from '@aevon/conformance';
import { postgresStoreTargets } from '../../../../test/support/postgres.js';
import { createPostgresApiKeyStore } from './postgres-api-key-store.js';

// One database for the file and a fresh schema per test; the second store has its own pool, as another node would.
describeApiKeyStoreContract('postgres', postgresStoreTargets('keys', createPostgresApiKeyStore));
