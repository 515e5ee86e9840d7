/** The commands of `aevon`. */
export const commandNames = ['serve', 'migrate', 'verify', 'rebuild', 'keys', 'help'] as const;

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
  migrate   create or upgrade the database schema, then exit
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
130/143 forced by a second SIGINT/SIGTERM.`;

/** Help per command. */
export const commandHelp: Record<CommandName, string> = {
  serve: `Usage: aevon serve [options]

Starts the HTTP API on server.host:server.port (default 127.0.0.1:8080) and the aggregation scheduler, and
prints "aevon: listening on http://HOST:PORT". SIGTERM or SIGINT shuts down gracefully: stop accepting,
finish requests in flight, run a final sweep, close the database, exit 0. A second signal exits at once.
PostgreSQL schemas are not changed unless --migrate is given; SQLite files are always created or upgraded.
Once an API key exists (aevon keys create), every route but /health and /ready needs one (auth.required);
a server.host other than loopback needs a key, or auth.required: false, to start.

${commonOptions}
      --migrate       apply pending migrations before serving (PostgreSQL)`,
  migrate: `Usage: aevon migrate [options]

Applies pending schema migrations to the database of database.dsn, then exits. For SQLite it creates the
file (and its folder) if needed.

${commonOptions}`,
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

Scopes: events:write (POST /v1/events, /v1/ingest, /v1/events/batch), state:read (GET /v1/state,
/v1/aggregates), admin (everything).

${commonOptions}
      --scope SCOPE   (create) a scope of the key; repeat for several
      --name NAME     (create) a label for people, at most 100 characters`,
  help: `Usage: aevon help [command]

Shows the general help, or the help of one command.`,
};
