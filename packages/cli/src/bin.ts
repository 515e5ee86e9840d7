#!/usr/bin/env node
import { runCli } from './main.js';

// The process edge: everything below runCli takes its surroundings as arguments.
const code = await runCli(process.argv.slice(2), {
  cwd: process.cwd(),
  env: process.env,
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
  ...(process.stderr.isTTY
    ? {
        progress: (line: string | null) =>
          process.stderr.write(line === null ? '\n' : `\r${line}\x1b[K`),
      }
    : {}),
});
process.exitCode = code;
// A lingering handle (a driver's idle timer) must not keep a finished command alive; stdout is flushed by then.
setTimeout(() => process.exit(code), 2_000).unref();
