/** `sibyl request --model M "input"`: sends a request, prints its id, waits for the answer. */
import { parseArgs } from "node:util";
import { formatEther } from "viem";
import { requestInference, waitForResult } from "../../sdk/index.js";
import { CliError, rejected, UsageError } from "../errors.js";
import { proofState, SIBYL_COMMAND, statusName } from "../format.js";
import { requireServedModel } from "../models.js";
import { resolveTarget, TARGET_HELP, TARGET_OPTIONS } from "../target.js";
import { walletFor } from "../wallet.js";

export const REQUEST_USAGE = `usage: sibyl request --model <name|id> [options] "<input>"

Sends an inference request to the coordinator (paying the quoted fee), prints its id, waits for the
node's answer and prints it. No callback: the answer is read from the coordinator's events.

Options:
  -m, --model <name|id>   the registered model (e.g. language-id)
  --timeout <seconds>     how long to wait for the answer (default 120; 0 = do not wait)
  --key-env <NAME>        environment variable with the requester's key (default SIBYL_USER_KEY;
                          on the devnet its test key is used when unset)
${TARGET_HELP}
  -h, --help              show this help
`;

export async function requestCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...TARGET_OPTIONS,
      model: { type: "string", short: "m" },
      timeout: { type: "string", default: "120" },
      "key-env": { type: "string", default: "SIBYL_USER_KEY" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(REQUEST_USAGE);
    return 0;
  }
  if (!values.model) throw new UsageError("sibyl request needs --model <name>", REQUEST_USAGE);
  if (positionals.length !== 1)
    throw new UsageError("sibyl request takes exactly one input argument", REQUEST_USAGE);
  const input = positionals[0] as string;
  const timeoutSeconds = Number(values.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 0)
    throw new CliError(`--timeout: not a number of seconds: ${values.timeout}`);

  const target = await resolveTarget(values);
  const { modelId } = await requireServedModel(target, values.model);
  const wallet = await walletFor(target, values["key-env"] as string, "user");
  const sent = await requestInference(wallet, {
    coordinator: target.coordinator,
    model: modelId,
    input,
  }).catch((error) => {
    throw rejected("request", error);
  });
  process.stdout.write(
    `request ${sent.requestId} sent in ${sent.transactionHash}, escrow ${formatEther(sent.commitment.escrow)} ETH, assigned to ${sent.commitment.operator}\n`,
  );
  if (timeoutSeconds === 0) return 0;
  const result = await waitForResult(target.client, {
    coordinator: target.coordinator,
    requestId: sent.requestId,
    timeoutMs: timeoutSeconds * 1000,
    fromBlock: sent.blockNumber,
  });
  const status = statusName(result.status);
  process.stdout.write(
    `status  ${status}\noutput  ${result.outputText ?? result.output}\n` +
      `leaf    ${result.leafIndex ?? "proof pending"} (sequence ${result.sequence}, delivered in ${result.transactionHash} by ${result.operator})\n` +
      `proof   ${proofState(result)}\n` +
      `fee     ${formatEther(result.fee)} ETH charged, ${formatEther(sent.commitment.escrow - result.fee)} ETH credited back to ${sent.commitment.refundTo}\n` +
      `verify  ${SIBYL_COMMAND} verify ${sent.requestId}\n`,
  );
  return result.status === 0 ? 0 : 1;
}
