/** The commands of `aevon`. */
export const commandNames = ['serve', 'migrate', 'verify', 'rebuild', 'help'] as const;

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
  help: `Usage: aevon help [command]

Shows the general help, or the help of one command.`,
};
