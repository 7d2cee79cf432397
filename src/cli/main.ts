#!/usr/bin/env node
/** The `sibyl` command line: user mistakes end as one clear line and a non-zero exit, never a stack. */
import { SibylError } from "../shared/errors.js";
import { nodeCommand, UsageError } from "./commands/node.js";

const USAGE = `usage: sibyl <command> [options]

Commands:
  node    run the oracle node daemon (sibyl node --help)
  dev     one-command local devnet (arrives with the SDK and devnet work)
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case "node":
      return nodeCommand(args);
    case "dev":
      process.stderr.write(
        "sibyl dev is not built yet; run `sibyl node --config <file>` against a deployed coordinator.\n",
      );
      return 1;
    case undefined:
    case "-h":
    case "--help":
      process.stdout.write(USAGE);
      return command === undefined ? 1 : 0;
    default:
      throw new UsageError(`unknown command: ${command}`, USAGE);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`sibyl: ${error.message}\n\n${error.usage}`);
      process.exitCode = 2;
    } else if (error instanceof SibylError) {
      process.stderr.write(`sibyl: ${error.shortMessage}\n`);
      if (process.env.SIBYL_DEBUG) process.stderr.write(`${error.stack}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(
        `sibyl: unexpected error: ${error instanceof Error ? error.stack : String(error)}\n`,
      );
      process.exitCode = 1;
    }
  },
);
