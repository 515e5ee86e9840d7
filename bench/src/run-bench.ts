/**
 * Runs a benchmark's `main` as a command: a usage mistake (an unknown or malformed option) prints one line on stderr
 * and exits 2, any other failure prints one line and exits 1, instead of a stack trace.
 */
export async function runBench(name: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const isUsage = typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(
      `${name}: ${message.replace(/\s*\n\s*/g, ' ')}${isUsage ? ' (see bench/README.md)' : ''}\n`,
    );
    process.exitCode = isUsage ? 2 : 1;
  }
}
