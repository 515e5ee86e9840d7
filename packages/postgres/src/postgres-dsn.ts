/**
 * True when `url` names a PostgreSQL database (`postgres://…` or `postgresql://…`), the form the CLI and server use to
 * pick this package over another engine. Only the scheme is checked; `pg` reports a malformed rest when it connects.
 */
export function isPostgresDsn(url: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(url);
}
