export type { ApiKeyParts, ApiKeyRecord, ApiKeyScope } from './api-key.js';
export {
  apiKeyIdPattern,
  apiKeyListMax,
  apiKeyNameLengthMax,
  apiKeyPrefix,
  apiKeyScopes,
  apiKeySecretHashPattern,
  apiKeySecretPattern,
  assertApiKeyRecord,
  checkApiKeyName,
  formatApiKey,
  isApiKeyScope,
  normalizeScopes,
  parseApiKey,
  scopesAllow,
} from './api-key.js';
export type { ApiKeyStore } from './api-key-store.js';
export { createInMemoryApiKeyStore } from './in-memory-api-key-store.js';
