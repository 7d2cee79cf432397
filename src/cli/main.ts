#!/usr/bin/env node
/** The `sibyl` command line: user mistakes end as one clear line and a non-zero exit, never a stack. */
import { redact } from "../node/observe/redact.js";
import { SibylError } from "../shared/errors.js";
import { UsageError } from "./errors.js";

const USAGE = `usage: sibyl <command> [options]      (sibyl <command> --help for each)

Commands:
  dev       one command: local chain, contracts, models, operator, node, example requests
  deploy    deploy the contracts to a chain (Hardhat Ignition)
  node      run the oracle node daemon
  request   send an inference request and wait for its answer
  status    chain and node state: result log, operator, pending jobs
  verify    check a result against the onchain root
  models    list registered models, or register a node config's models
  simulate  run a model on an input as a node would, with no chain
  operator  an operator's stake: register, exit, withdraw
  explorer  a web page of requests, results, proofs and operators, with verify in the browser
`;

/** Commands load lazily: \`sibyl verify\` should not pay for loading Hardhat or the prover. */
const COMMANDS: Record<string, () => Promise<(args: string[]) => Promise<number>>> = {
  dev: async () => (await import("./commands/dev.js")).devCommand,
  deploy: async () => (await import("./commands/deploy.js")).deployCommand,
  node: async () => (await import("./commands/node.js")).nodeCommand,
  request: async () => (await import("./commands/request.js")).requestCommand,
  status: async () => (await import("./commands/status.js")).statusCommand,
  verify: async () => (await import("./commands/verify.js")).verifyCommand,
  models: async () => (await import("./commands/models.js")).modelsCommand,
  simulate: async () => (await import("./commands/simulate.js")).simulateCommand,
  operator: async () => (await import("./commands/operator.js")).operatorCommand,
  explorer: async () => (await import("./commands/explorer.js")).explorerCommand,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  const load = COMMANDS[command];
  if (load === undefined) throw new UsageError(`unknown command: ${command}`, USAGE);
  return (await load())(args);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.exitCode = report(error);
  },
);

function report(error: unknown): number {
  if (error instanceof UsageError) {
    process.stderr.write(`sibyl: ${error.message}\n\n${error.usage}`);
    return 2;
  }
  // Errors can quote URLs with keys in them (viem's do): what reaches the terminal is redacted.
  if (error instanceof SibylError) {
    process.stderr.write(`sibyl: ${redact(error.shortMessage)}\n`);
    if (process.env.SIBYL_DEBUG) process.stderr.write(`${redact(String(error.stack))}\n`);
    return 1;
  }
  // node:util parseArgs rejects unknown or malformed options with a coded TypeError.
  if (error instanceof TypeError && (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
    process.stderr.write(`sibyl: ${error.message}\n`);
    return 2;
  }
  process.stderr.write(
    `sibyl: unexpected error: ${redact(error instanceof Error ? String(error.stack) : String(error))}\n`,
  );
  return 1;
}
