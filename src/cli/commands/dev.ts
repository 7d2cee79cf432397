/**
 * `sibyl dev`: the whole system on this machine in one command. A local chain, the contracts, the
 * built-in model (plus OpenAI when OPENAI_API_KEY is set, plus a GGUF file when given), funded
 * operators and their nodes (one, or a quorum network with --operators/--quorum), and a few example
 * requests answered, proved and verified; then it keeps serving.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { createPublicClient, type Hex, http, type PublicClient } from "viem";
import { deploySibylStack, registerModel } from "../../deploy/index.js";
import { startExplorerServer } from "../../explorer/server.js";
import type { NodeConfigInput } from "../../node/config.js";
import type { ModelSpecInput } from "../../node/models/registry.js";
import { quoteGasPrice, type ResultState, verifyResult, waitForResult } from "../../sdk/index.js";
import { promptBoardAbi, sibylCoordinatorAbi } from "../../shared/abi/generated.js";
import { modelIdFromName, ResultStatus } from "../../shared/encoding.js";
import { DEV_ACCOUNT, hardhatKey } from "../devAccounts.js";
import { MAX_DEV_OPERATORS, startDevOperators } from "../devOperators.js";
import { UsageError } from "../errors.js";
import { SIBYL_COMMAND, statusName } from "../format.js";
import { compileContractsIfFromSource, startLocalChain } from "../localChain.js";
import { step } from "../progress.js";
import { STATE_DIR, writeDeploymentRecord } from "../target.js";
import { walletOn } from "../wallet.js";

export const DEV_USAGE = `usage: sibyl dev [options]

Starts a local chain (hardhat node), deploys Sibyl and the example dapps, registers the built-in
language-id model (and gpt-4o-mini when OPENAI_API_KEY is set, and a local GGUF model with --gguf),
registers a funded operator, runs the node, answers a few example requests with proofs and verifies
them; then keeps serving until Ctrl-C so you can send your own (sibyl request ...).

Options:
  --port <n>          port of the local chain's JSON-RPC (default 8545)
  --api-port <n>      port of the node's health/metrics API (default 9464)
  --explorer-port <n> port of the explorer page (default 5174)
  --gguf <file>       also serve this GGUF model as "local-gguf"
  --operators <n>     run n staked operators, each its own node, key and database (default 1, at most 5)
  --quorum <q>        operators that must sign the same answer of each model (default 1, at most --operators)
  --no-examples       skip the example requests
  --once              answer and verify the example requests, then stop (exit 1 if one fails)
  -h, --help          show this help
`;

const EXAMPLES = [
  "The weather is lovely today.",
  "Il fait très beau aujourd'hui.",
  "Das Wetter ist heute schön.",
];

export async function devCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string", default: "8545" },
      "api-port": { type: "string", default: "9464" },
      "explorer-port": { type: "string", default: "5174" },
      gguf: { type: "string" },
      operators: { type: "string", default: "1" },
      quorum: { type: "string", default: "1" },
      "no-examples": { type: "boolean" },
      once: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(DEV_USAGE);
    return 0;
  }
  if (values.once && values["no-examples"])
    throw new UsageError("--once answers the examples: it cannot go with --no-examples", DEV_USAGE);
  const port = portOf("--port", values.port);
  const apiPort = portOf("--api-port", values["api-port"]);
  const explorerPort = portOf("--explorer-port", values["explorer-port"]);
  const operators = countOf("--operators", values.operators, MAX_DEV_OPERATORS);
  const quorum = countOf("--quorum", values.quorum, operators);
  const stopping = new AbortController();
  const onSignal = () => stopping.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const cleanups: Array<() => Promise<void>> = [];
  process.stdout.write("Sibyl devnet\n");
  try {
    await compileContractsIfFromSource((run) => step("Compiling the contracts (hardhat build)", run));
    const chain = await step(`Starting a local chain (hardhat node on port ${port})`, () =>
      startLocalChain(port),
    );
    cleanups.unshift(() => chain.stop());
    // hardhat node signs for its unlocked test accounts: plain JSON-RPC is all the deploy API needs.
    const connection = { provider: http(chain.url)({}), networkName: "localhost" };
    const deployment = await step("Deploying verifiers, coordinator, built-in model and example dapps", () =>
      deploySibylStack(connection),
    );
    const models: ModelSpecInput[] = [{ provider: "builtin", name: "language-id", builtin: "language-id" }];
    if (process.env.OPENAI_API_KEY)
      models.push({ provider: "openai", name: "gpt-4o-mini", model: "gpt-4o-mini" });
    if (values.gguf)
      models.push({ provider: "local", name: "local-gguf", modelPath: path.resolve(values.gguf) });
    for (const spec of models.slice(1)) {
      await step(`Registering model ${spec.name}`, () =>
        registerModel(connection, { coordinator: deployment.coordinator, spec, quorum }),
      );
    }
    if (quorum > 1)
      await step(`Setting language-id's quorum to ${quorum}`, () =>
        setQuorum(chain.url, deployment, models[0]?.name ?? "language-id", quorum),
      );
    const nodeConfig: NodeConfigInput = {
      chain: {
        rpcUrl: chain.url,
        coordinator: deployment.coordinator,
        deploymentBlock: deployment.deploymentBlock,
        pollIntervalMs: 200,
      },
      models,
      batching: { maxWaitMs: 200 },
      // A devnet has little traffic: prove what was delivered within two seconds, so it shows proven.
      proving: { maxWaitMs: 2_000 },
      api: { port: apiPort },
      log: { level: "warn", format: "pretty" },
    };
    const running = await step(
      operators === 1
        ? "Staking an operator and starting its node (warming the prover)"
        : `Staking ${operators} operators and starting their nodes (warming the provers)`,
      () =>
        startDevOperators(connection, {
          count: operators,
          coordinator: deployment.coordinator,
          config: nodeConfig,
          apiPort,
        }),
    );
    for (const { node } of running) cleanups.unshift(() => node.stop());
    const [first] = running;
    if (first === undefined) throw new Error("no operator started");
    const { node, address: operator } = first;
    writeDeploymentRecord({
      rpcUrl: chain.url,
      chainId: deployment.chainId,
      coordinator: deployment.coordinator,
      deploymentBlock: String(deployment.deploymentBlock),
      promptBoard: deployment.promptBoard,
      ...(node.apiUrl ? { nodeApiUrl: node.apiUrl } : {}),
      operator,
      devKeys: { owner: hardhatKey(DEV_ACCOUNT.owner), user: hardhatKey(DEV_ACCOUNT.user) },
    });

    // Nobody looks at a page in a run that stops after the examples.
    const explorer = values.once
      ? undefined
      : await startExplorerServer({
          config: {
            rpcUrl: chain.url,
            coordinator: deployment.coordinator,
            fromBlock: String(deployment.deploymentBlock),
          },
          port: explorerPort,
        }).catch((error: Error) => {
          process.stdout.write(`  (no explorer page: ${error.message})\n`);
          return undefined;
        });
    if (explorer) cleanups.unshift(() => explorer.close());
    const client = createPublicClient({ transport: http(chain.url), pollingInterval: 250 }) as PublicClient;
    if (!values["no-examples"]) {
      const verified = await runExamples(client, chain.url, deployment);
      if (values.once) return verified ? 0 : 1;
    }
    printServing(chain.url, deployment, node.apiUrl, explorer?.url);
    await Promise.race([
      node.stopped,
      new Promise((resolve) => stopping.signal.addEventListener("abort", resolve)),
    ]);
    process.stdout.write("\nStopping …\n");
    return 0;
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

type Deployment = Awaited<ReturnType<typeof deploySibylStack>>;

/**
 * Asks PromptBoard a few questions and shows each answer with its proof status and audit, then waits
 * for their proof (the devnet proves within seconds) and audits them again; true when every answer was
 * Ok and verified, in the end against the onchain root.
 */
async function runExamples(client: PublicClient, rpcUrl: string, deployment: Deployment): Promise<boolean> {
  let allVerified = true;
  const requestIds: bigint[] = [];
  const wallet = walletOn(rpcUrl, deployment.chainId, hardhatKey(DEV_ACCOUNT.user));
  process.stdout.write("\nExample requests from the PromptBoard dapp to language-id:\n");
  for (const question of EXAMPLES) {
    const board = { address: deployment.promptBoard, abi: promptBoardAbi } as const;
    const fee = await client.readContract({
      ...board,
      functionName: "askFee",
      args: [await quoteGasPrice(client)],
    });
    const hash = await wallet.writeContract({ ...board, functionName: "ask", args: [question], value: fee });
    const receipt = await client.waitForTransactionReceipt({ hash });
    const requestId = BigInt(
      receipt.logs.find((log) => log.address.toLowerCase() === deployment.coordinator.toLowerCase())
        ?.topics[1] as Hex,
    );
    requestIds.push(requestId);
    const result = await step(`#${requestId} "${question}"`, () =>
      waitForResult(client, {
        coordinator: deployment.coordinator,
        requestId,
        timeoutMs: 120_000,
        fromBlock: deployment.deploymentBlock,
      }),
    );
    const audit = await verifyResult(client, {
      coordinator: deployment.coordinator,
      requestId,
      fromBlock: deployment.deploymentBlock,
    });
    allVerified &&= audit.valid && result.status === ResultStatus.Ok;
    process.stdout.write(
      `      → ${result.outputText ?? result.output}  (${statusName(result.status)}, sequence ${result.sequence}, ` +
        `leaf ${result.leafIndex ?? "proof pending"}; ` +
        `${audit.valid ? verifiedAs(audit.state) : `NOT verified: ${audit.reason}`})\n`,
    );
  }
  const last = requestIds.at(-1);
  if (last !== undefined) {
    // Delivered at once; their proof follows in bulk. The last one's proof covers them all.
    await step("Proof of the answers, in bulk", () =>
      waitForResult(client, {
        coordinator: deployment.coordinator,
        requestId: last,
        timeoutMs: 120_000,
        fromBlock: deployment.deploymentBlock,
        proven: true,
      }),
    );
    for (const requestId of requestIds) {
      const audit = await verifyResult(client, {
        coordinator: deployment.coordinator,
        requestId,
        fromBlock: deployment.deploymentBlock,
      });
      allVerified &&= audit.valid && audit.state === "proven";
      process.stdout.write(
        `      #${requestId}: ${audit.valid ? `${verifiedAs(audit.state)}, leaf ${audit.leafIndex}` : `NOT verified: ${audit.reason}`}\n`,
      );
    }
  }
  process.stdout.write(`  Verify one yourself: ${SIBYL_COMMAND} verify <requestId>\n`);
  return allVerified;
}

function verifiedAs(state: ResultState): string {
  return state === "proven"
    ? "verified: proven under the onchain root"
    : "verified: in the log, proof pending (committed in the onchain queue)";
}

function printServing(
  rpcUrl: string,
  deployment: Deployment,
  apiUrl: string | undefined,
  explorerUrl: string | undefined,
): void {
  process.stdout.write(
    [
      "",
      "Sibyl devnet is running. Ctrl-C to stop.",
      `  RPC          ${rpcUrl} (chain id ${deployment.chainId})`,
      `  coordinator  ${deployment.coordinator}`,
      `  PromptBoard  ${deployment.promptBoard}`,
      ...(apiUrl ? [`  node API     ${apiUrl}/metrics, ${apiUrl}/readyz`] : []),
      ...(explorerUrl ? [`  explorer     ${explorerUrl}`] : []),
      `  deployment   ${path.join(STATE_DIR, "deployment.json")}`,
      "Try:",
      `  ${SIBYL_COMMAND} request --model language-id "Hola, ¿cómo estás?"`,
      `  ${SIBYL_COMMAND} status`,
      "",
    ].join("\n"),
  );
}

/** Makes the devnet's own model need `quorum` operators' agreement (the deploy registered it with 1). */
async function setQuorum(
  rpcUrl: string,
  deployment: Deployment,
  name: string,
  quorum: number,
): Promise<void> {
  const client = createPublicClient({ transport: http(rpcUrl) });
  const coordinator = { address: deployment.coordinator, abi: sibylCoordinatorAbi } as const;
  const modelId = modelIdFromName(name);
  const model = await client.readContract({ ...coordinator, functionName: "modelOf", args: [modelId] });
  const owner = walletOn(rpcUrl, deployment.chainId, hardhatKey(DEV_ACCOUNT.owner));
  const hash = await owner.writeContract({
    ...coordinator,
    functionName: "updateModel",
    args: [modelId, { ...model, quorum }],
  });
  await client.waitForTransactionReceipt({ hash });
}

function countOf(flag: string, text: string | undefined, max: number): number {
  const count = Number(text);
  if (!Number.isInteger(count) || count < 1 || count > max)
    throw new UsageError(`${flag}: ${text} is not a whole number from 1 to ${max}`, DEV_USAGE);
  return count;
}

function portOf(flag: string, text: string | undefined): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new UsageError(`${flag}: not a port: ${text}`, DEV_USAGE);
  return port;
}
