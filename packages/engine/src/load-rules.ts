import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AevonError, isPlainObject } from '@aevon/core';
import { parse } from 'yaml';
import type { Rule, RuleOperator } from './contract.js';

const operators: readonly RuleOperator[] = ['count', 'sum', 'min', 'max'];
const knownKeys: ReadonlySet<string> = new Set([
  'name',
  'source_event',
  'operator',
  'field',
  'window_size',
]);
const namePattern = /^[A-Za-z0-9_.:-]{1,128}$/;
const fieldPattern = /^[^.\s]+(\.[^.\s]+)*$/;

/** Most rule files one directory may hold. */
export const ruleFilesMax = 1_000;

/**
 * Loads the metering rules of a directory: every `*.yaml` / `*.yml` file directly inside it holds one rule,
 *
 * ```yaml
 * name: "tokens_used"        # unique across the directory; letters, digits, _ . : -
 * source_event: "llm.call"   # the event type it folds
 * operator: "sum"            # count | sum | min | max
 * field: "tokens.input"      # dot path into data; required for sum/min/max, forbidden for count
 * window_size: "1m"          # optional; only "1m" (the MVP's fixed bucket)
 * ```
 *
 * Files are read in name order. A missing or empty directory yields no rules (state queries then answer
 * `AEV_RULE_UNKNOWN`).
 * @throws AEV_CONFIG_INVALID naming the file: unreadable or malformed YAML, unknown keys, a bad value, a
 *   duplicate name; or naming the directory when it cannot be listed or holds more than {@link ruleFilesMax} files.
 */
export async function loadRules(dir: string): Promise<readonly Rule[]> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true }))
      .filter((entry) => entry.isFile() && /\.ya?ml$/i.test(entry.name))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return [];
    throw new AevonError(
      'AEV_CONFIG_INVALID',
      { reason: 'cannot list the rule directory', source: dir },
      { cause: error },
    );
  }
  if (names.length > ruleFilesMax) {
    throw new AevonError('AEV_CONFIG_INVALID', {
      reason: `more than ${ruleFilesMax} rule files`,
      source: dir,
    });
  }
  const rules: Rule[] = [];
  const sources = new Map<string, string>();
  for (const name of names) {
    const file = join(dir, name);
    const rule = parseRule(await readText(file), file);
    const other = sources.get(rule.name);
    if (other !== undefined)
      throw configError(file, `rule name ${JSON.stringify(rule.name)} is also used by ${other}`);
    sources.set(rule.name, file);
    rules.push(rule);
  }
  return rules;
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new AevonError(
      'AEV_CONFIG_INVALID',
      { reason: 'cannot read the file', source: file },
      { cause: error },
    );
  }
}

function configError(file: string, reason: string): AevonError<'AEV_CONFIG_INVALID'> {
  return new AevonError('AEV_CONFIG_INVALID', { reason, source: file });
}

/**
 * Parses and checks one rule file's text.
 * @throws AEV_CONFIG_INVALID naming `file`.
 */
export function parseRule(text: string, file: string): Rule {
  let document: unknown;
  try {
    document = parse(text);
  } catch (error) {
    throw new AevonError(
      'AEV_CONFIG_INVALID',
      { reason: 'malformed YAML', source: file },
      { cause: error },
    );
  }
  if (!isPlainObject(document))
    throw configError(file, 'must hold one mapping (name, source_event, operator)');
  for (const key of Object.keys(document)) {
    if (!knownKeys.has(key)) throw configError(file, `unknown key ${JSON.stringify(key)}`);
  }
  const { name, source_event: sourceEvent, operator, field, window_size: windowSize } = document;
  if (typeof name !== 'string' || !namePattern.test(name)) {
    throw configError(file, 'name: must be 1-128 letters, digits, or _ . : -');
  }
  if (typeof sourceEvent !== 'string' || sourceEvent.length === 0 || sourceEvent.length > 256) {
    throw configError(file, 'source_event: must be a non-empty string of at most 256 characters');
  }
  if (!operators.includes(operator as RuleOperator)) {
    throw configError(file, `operator: must be one of ${operators.join(', ')}`);
  }
  if (windowSize !== undefined && windowSize !== '1m') {
    throw configError(
      file,
      'window_size: only "1m" is supported (buckets are fixed at one minute)',
    );
  }
  const checkedOperator = operator as RuleOperator;
  if (checkedOperator === 'count') {
    if (field !== undefined) throw configError(file, 'field: not allowed for operator count');
    return { name, sourceEvent, operator: checkedOperator };
  }
  if (typeof field !== 'string' || !fieldPattern.test(field)) {
    throw configError(
      file,
      `field: required for operator ${checkedOperator}, a dot path such as "tokens.input"`,
    );
  }
  return { name, sourceEvent, operator: checkedOperator, field };
}
