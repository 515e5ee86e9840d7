/** The commands of `aevon`. */
export const commandNames = [
  'serve',
  'migrate',
  'sql',
  'verify',
  'rebuild',
  'keys',
  'help',
] as const;

/** One of {@link commandNames}. */
export type CommandName = (typeof commandNames)[number];

const commonOptions = `Options:
  -c, --config FILE   read FILE instead of ./aevon.yaml (relative paths in it resolve against its folder)
  -h, --help          show this help`;

/** `aevon --help`. */
export const generalHelp = `Usage: aevon <command> [options]

Aevon: an event-sourced state platform. One append-only log; derived state on top.

Commands:
  serve     start the HTTP server and the aggregation scheduler
  migrate   create or upgrade the database schema and apply definitions migrations, then exit
  sql       run a read-only SQL query over the aggregate tables (aevon sql "SELECT ...")
  verify    recompute pre-aggregates from the log and report any difference
  rebuild   rebuild one rule's pre-aggregates from the log, while the server runs
  keys      create, list or revoke API keys (aevon keys create --scope events:write)
  help      show help for a command (aevon help serve)

Options:
  -h, --help      show help
  -V, --version   print the version

Configuration: ./aevon.yaml or --config FILE, overridden by AEVON_* environment variables
(AEVON_DATABASE_DSN, AEVON_SERVER_PORT, ...). See docs/reference/config.md.

Exit codes: 0 ok, 1 runtime error, 2 usage or config error, 3 storage unavailable,
4 storage schema mismatch (run aevon migrate), 5 aevon verify found differences,
6 aevon sql refused or timed out, 7 a definitions migration is invalid,
130/143 forced by a second SIGINT/SIGTERM.`;

/** Help per command. */
export const commandHelp: Record<CommandName, string> = {
  serve: `Usage: aevon serve [options]

Starts the HTTP API on server.host:server.port (default 127.0.0.1:8080) and the aggregation scheduler, and
prints "aevon: listening on http://HOST:PORT". SIGTERM or SIGINT shuts down gracefully: stop accepting,
finish requests in flight, run a final sweep, close the database, exit 0. A second signal exits at once.
PostgreSQL schemas are not changed unless --migrate is given; SQLite files are always created or upgraded.
Definitions (aggregates, event types, streams) are loaded from the log; pending definitions migrations of
definitions.migrations_dir are applied at start on SQLite, and on PostgreSQL only with --migrate.
Once an API key exists (aevon keys create), every route but /health and /ready needs one (auth.required);
a server.host other than loopback needs a key, or auth.required: false, to start.

${commonOptions}
      --migrate       apply pending migrations before serving (PostgreSQL)`,
  migrate: `Usage: aevon migrate [--status] [options]

Applies pending schema migrations to the database of database.dsn, then the pending definitions migrations
of definitions.migrations_dir (default ./migrations: NNNN_name.sql files, applied in number order, each
recorded in the log with its checksum; NNNN_name.upcast.mjs modules give upcasters), printing each applied
file, then exits. For SQLite it creates the file (and its folder) if needed. An applied file that was edited,
a gap or a duplicate number exits 7 (AEV_MIGRATION_INVALID) and applies nothing further.

${commonOptions}
      --status        list each definitions migration as applied or pending; change nothing`,
  sql: `Usage: aevon sql "SELECT ..." [--param V ...] [--limit N] [--json] [options]

Runs one read-only query (a single SELECT or WITH) over the aggregate tables of database.dsn and prints a
table, or the rows as one JSON array with --json. Bounded by sql.timeout and sql.rows_max; more rows than
the limit print a note on stderr. A refused or failed query prints one line and exits 6 (AEV_SQL_INVALID,
AEV_SQL_TIMEOUT). Changes nothing.

${commonOptions}
      --param V       the value of $1, $2, ... in order: JSON (1, true, null, "text") or else the text itself
      --limit N       at most N rows (only lowers sql.rows_max)
      --json          print the rows as a JSON array`,
  verify: `Usage: aevon verify [--rule RULE] [--principal ID] [options]

Recomputes the pre-aggregates from the raw event log and compares them, bucket by bucket, with the stored
ones, at the sweep checkpoint read in one snapshot with them (events after it are the sweep's to fold). Prints
a summary and the first 100 differences (stored and expected value and event count). Exits 0 when all match,
5 when any differs. Only reads: safe while a server runs. Holds the selected buckets in memory; narrow a
large check with --principal (which reads only that principal's stream).

${commonOptions}
      --rule RULE     check only this rule (default: every configured rule)
      --principal ID  check only this principal's pre-aggregates`,
  rebuild: `Usage: aevon rebuild --rule RULE [options]

Rebuilds one rule's pre-aggregates from the raw event log, using the rule as configured now (so a changed
operator or field applies to the whole history). Builds into a staging area page by page, catches up with the
running sweep, then swaps it in with one transaction: readers get exact answers before, during and after.
Prints progress with an ETA on stderr. Run it against the same database and rules as the server.

${commonOptions}
      --rule RULE     the rule to rebuild (required)`,
  keys: `Usage: aevon keys create --scope SCOPE [--scope SCOPE ...] [--name NAME] [options]
       aevon keys list [options]
       aevon keys revoke ID [options]

Manages the API keys of the database of database.dsn: every aevon serve on that database checks them.
Once a key exists, every route but /health and /ready needs "Authorization: Bearer <key>" (auth.required:
auto); revoking keys never turns that off. A server sees a new or revoked key within 1 second.

  create   prints the new key (aev_<id>_<secret>) once on stdout; only a hash of it is stored
  list     id, name, scopes, created and revoked time of every key (never the key)
  revoke   revokes the key with this id; an unknown id exits 1 (AEV_NOT_FOUND)

Scopes: events:write (POST /v1/events, /v1/ingest, /v1/events/batch, /v1/streams/...), state:read
(GET /v1/state, /v1/aggregates/..., /v1/definitions, POST /v1/sql, subscriptions), admin (everything).

${commonOptions}
      --scope SCOPE   (create) a scope of the key; repeat for several
      --name NAME     (create) a label for people, at most 100 characters`,
  help: `Usage: aevon help [command]

Shows the general help, or the help of one command.`,
};
