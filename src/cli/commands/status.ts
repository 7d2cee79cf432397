/**
 * `sibyl status`: the coordinator's log, every operator's record and the node's jobs, from the chain
 * and the node's API.
 */
import { parseArgs } from "node:util";
import { type Address, formatEther, getAddress, isAddress } from "viem";
import { getOperatorStats, type OperatorStats, pendingLogFrom } from "../../sdk/index.js";
import { operatorLedgerAbi, sibylCoordinatorAbi, sibylLogAbi } from "../../shared/abi/generated.js";
import { CliError } from "../errors.js";
import { resolveTarget, TARGET_HELP, TARGET_OPTIONS } from "../target.js";

export const STATUS_USAGE = `usage: sibyl status [options]

Prints the chain's view (block, result-log root and next index, results delivered and waiting for
their proof, the operator's stake and balance), every operator's record (state, stake, co-signing
endpoint, results served, assignments missed, liveness penalties, equivocation slashes) and, when the
node's API is known, its jobs by state.

Options:
${TARGET_HELP}
  --operator <addr>       operator to report on (default: the devnet's)
  --node-api <url>        the node's API, e.g. http://127.0.0.1:9464 (default: the devnet's)
  -h, --help              show this help
`;

export async function statusCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...TARGET_OPTIONS,
      operator: { type: "string" },
      "node-api": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(STATUS_USAGE);
    return 0;
  }
  const target = await resolveTarget(values);
  const { client, coordinator, contracts } = target;
  const block = await client.getBlockNumber();
  const resultLog = { address: contracts.log, abi: sibylLogAbi, blockNumber: block } as const;
  const [root, nextIndex, pending] = await Promise.all([
    client.readContract({ ...resultLog, functionName: "root" }),
    client.readContract({ ...resultLog, functionName: "nextIndex" }),
    client.readContract({ ...resultLog, functionName: "pendingLog" }),
  ]);
  const operators = await getOperatorStats(client, {
    coordinator,
    fromBlock: target.fromBlock,
    blockNumber: block,
  });
  const queue = pendingLogFrom(pending);
  const waiting = queue.delivered - queue.proven;
  const lines = [
    `chain        ${target.rpcUrl} (chain id ${await client.getChainId()}), block ${block}`,
    `log          ${contracts.log} (ledger ${contracts.ledger})`,
    `coordinator  ${coordinator}${
      contracts.coordinators.length > 1
        ? ` (version ${contracts.coordinators.length}; earlier: ${contracts.coordinators
            .slice(0, -1)
            .map((version) => version.address)
            .join(", ")})`
        : ""
    }`,
    `result log   root ${root}, next index ${nextIndex}, ${queue.proven} results proven`,
    `pending      ${waiting === 0n ? "none: every delivered result is proven" : `${waiting} delivered, proof pending (sequences ${queue.proven} to ${queue.delivered - 1n})`}`,
  ];
  // The devnet's operator and node API describe the devnet's coordinator only, not one named by flags.
  const devnet =
    target.record !== undefined &&
    contracts.coordinators.some((version) => version.address === target.record?.coordinator)
      ? target.record
      : undefined;
  const operatorText = values.operator ?? devnet?.operator;
  if (operatorText === undefined) lines.push("operator     unknown: pass --operator <addr> to see its stake");
  else {
    if (!isAddress(operatorText, { strict: false }))
      throw new CliError(`--operator: not an address: ${operatorText}`);
    const operator: Address = getAddress(operatorText);
    const [info, balance] = await Promise.all([
      client.readContract({
        address: contracts.ledger,
        abi: operatorLedgerAbi,
        functionName: "operatorOf",
        args: [operator],
      }),
      client.readContract({
        address: coordinator,
        abi: sibylCoordinatorAbi,
        functionName: "balanceOf",
        args: [operator],
      }),
    ]);
    lines.push(
      `operator     ${operator}: ${info.active ? "active" : "inactive"}, stake ${formatEther(info.stake)} ETH, earned ${formatEther(balance)} ETH`,
    );
  }
  lines.push(...operatorLines(operators));
  const api = values["node-api"] ?? devnet?.nodeApiUrl;
  lines.push(
    `node         ${api === undefined ? "unknown: pass --node-api <url> to see its jobs" : await nodeJobs(api)}`,
  );
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}

/** A heading line, then one line per operator. */
function operatorLines(operators: OperatorStats[]): string[] {
  const active = operators.filter((operator) => operator.state === "active").length;
  return [
    `operators    ${operators.length} registered, ${active} active (missed: assignments left to others or to expire)`,
    ...operators.map(
      (operator) =>
        `  ${operator.operator}  ${stateText(operator)}, stake ${formatEther(operator.stake)} ETH, ` +
        `served ${operator.served}, missed ${operator.missed}, ` +
        `penalties ${operator.penalties} (${formatEther(operator.penaltiesPaid)} ETH), ` +
        `slashes ${operator.slashes} (${formatEther(operator.slashed)} ETH), ` +
        `endpoint ${operator.endpoint === "" ? "none" : printable(operator.endpoint)}`,
    ),
  ];
}

/** An operator publishes any text as its endpoint: its control characters are escaped, not sent to the terminal. */
function printable(text: string): string {
  return text.replace(/\p{Cc}/gu, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function stateText(operator: OperatorStats): string {
  if (operator.state !== "exiting") return operator.state;
  return `exiting (stake unlocks ${new Date(Number(operator.unlockAt) * 1000).toISOString()})`;
}

/** Jobs by state from the node's Prometheus metrics (`sibyl_jobs{state="..."} n`). */
async function nodeJobs(api: string): Promise<string> {
  let text: string;
  try {
    const response = await fetch(new URL("/metrics", api), { signal: AbortSignal.timeout(5_000) });
    text = await response.text();
  } catch {
    return `not reachable at ${api}`;
  }
  const counts = [...text.matchAll(/^sibyl_jobs\{state="(\w+)"\} (\d+)/gm)]
    .filter(([, , n]) => n !== "0")
    .map(([, state, n]) => `${state} ${n}`);
  return `${api}: jobs ${counts.length > 0 ? counts.join(", ") : "none"}${roleText(text)}`;
}

/** "; leader since …" or "; standby since …" from `sibyl_leader` and `sibyl_role_since_seconds`. */
function roleText(metrics: string): string {
  const leader = /^sibyl_leader (\d+)/m.exec(metrics)?.[1];
  const since = /^sibyl_role_since_seconds (\d+)/m.exec(metrics)?.[1];
  if (leader === undefined || since === undefined) return "";
  return `; ${leader === "1" ? "leader" : "standby"} since ${new Date(Number(since) * 1000).toISOString()}`;
}
