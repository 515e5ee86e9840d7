/** A deep copy without the `at` positions, which carry no meaning, so tests can compare definitions by value. */
export function stripPositions<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => stripPositions(v)) as T;
  if (typeof value !== 'object' || value === null) return value;
  const result: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) if (key !== 'at') result[key] = stripPositions(v);
  return result as T;
}
