import { AevonError } from '@aevon/core';
import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';

/** Checks one event's data against the schema of its type and version. */
export type DataValidator = (type: string, schemaVersion: number, data: object) => void;

/** Most schema errors reported for one event. */
const reportedErrorsMax = 10;

/**
 * Compiles every schema of a registry once (Ajv, all errors collected; `format` keywords are not validated, since
 * no format vocabulary is installed) and returns a validator.
 * @throws AEV_CONFIG_INVALID naming `source` (or the type and version) when a schema does not compile.
 */
export function compileSchemas(
  schemas: ReadonlyMap<string, ReadonlyMap<number, object>>,
  source?: string,
): DataValidator {
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  const compiled = new Map<string, ValidateFunction>();
  for (const [type, versions] of schemas) {
    for (const [version, schema] of versions) {
      try {
        compiled.set(JSON.stringify([type, version]), ajv.compile(schema));
      } catch (error) {
        const reason = `invalid JSON Schema: ${error instanceof Error ? error.message : String(error)}`;
        throw new AevonError(
          'AEV_CONFIG_INVALID',
          { reason, source: source ?? `schema ${type} v${version}` },
          { cause: error },
        );
      }
    }
  }
  return (type, schemaVersion, data) => {
    const validate = compiled.get(JSON.stringify([type, schemaVersion]));
    if (validate === undefined) {
      throw new AevonError('AEV_SCHEMA_VALIDATION_FAILED', {
        type,
        schemaVersion,
        errors: ['no schema is registered for this type and version'],
      });
    }
    if (validate(data)) return;
    const errors = (validate.errors ?? [])
      .slice(0, reportedErrorsMax)
      .map((e) => `${e.instancePath === '' ? '/' : e.instancePath} ${e.message ?? 'is invalid'}`);
    throw new AevonError('AEV_SCHEMA_VALIDATION_FAILED', { type, schemaVersion, errors });
  };
}
