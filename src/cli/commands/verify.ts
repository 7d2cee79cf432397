/** `sibyl verify <requestId>`: checks a result against the onchain root, trusting no node. */
import { parseArgs } from "node:util";
import { type Hex, stringToHex } from "viem";
import { verifyResult } from "../../sdk/index.js";
import { CliError, UsageError } from "../errors.js";
import { resolveTarget, TARGET_HELP, TARGET_OPTIONS } from "../target.js";

export const VERIFY_USAGE = `usage: sibyl verify <requestId> [options]

Rebuilds the result log from the coordinator's events and recomputes the result's leaf. A proven
result must have a Merkle path to the root stored onchain; a result delivered without a proof yet
must be committed at its place in the onchain queue of pending leaves (its hash chain). Prints which
of the two holds ("proven" or "in the log, proof pending") and what it guarantees. Exits 0 when the
result is in the log, 1 when not.

Options:
  --output <text>         check this claimed answer instead of the one in the event (e.g. what an API
                          or a website told you the model said)
${TARGET_HELP}
  -h, --help              show this help
`;

export async function verifyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...TARGET_OPTIONS, output: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    process.stdout.write(VERIFY_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError("sibyl verify takes one request id", VERIFY_USAGE);
  const idText = positionals[0] as string;
  if (!/^\d+$/.test(idText)) throw new CliError(`not a request id: ${idText}`);
  const target = await resolveTarget(values);
  const claim = values.output === undefined ? undefined : { output: stringToHex(values.output) as Hex };
  const verdict = await verifyResult(target.client, {
    coordinator: target.coordinator,
    requestId: BigInt(idText),
    fromBlock: target.fromBlock,
    ...(claim ? { claim } : {}),
  });
  const where =
    verdict.state === "proven"
      ? `proven: leaf ${verdict.leafIndex} of request ${idText} (sequence ${verdict.sequence}) is in the onchain root ${verdict.root} (block ${verdict.blockNumber})`
      : `in the log, proof pending: request ${idText}'s leaf (sequence ${verdict.sequence}) is committed in the onchain queue of pending leaves, sequences ${verdict.queue.proven} to ${verdict.queue.delivered - 1n} (block ${verdict.blockNumber})`;
  const meaning = `  what this means: ${verdict.meaning}\n`;
  if (values.output !== undefined) {
    // A claimed answer: say in words whether it is the one in the log.
    process.stdout.write(
      verdict.valid
        ? `matches: ${JSON.stringify(values.output)} is the answer recorded for request ${idText}: ${where}\n${meaning}`
        : `does NOT match: ${JSON.stringify(values.output)} is not the answer recorded for request ${idText} (${verdict.reason})\n`,
    );
    return verdict.valid ? 0 : 1;
  }
  if (verdict.valid) {
    process.stdout.write(`valid, ${where}\n${meaning}`);
    return 0;
  }
  process.stdout.write(`INVALID: ${verdict.reason}\n`);
  return 1;
}
