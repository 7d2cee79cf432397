/**
 * A coordinator upgrade under a running node, with processes: `hardhat node`, `sibyl node`, and
 * `sibyl deploy --upgrade` run while requests to the old version are still unanswered and a client
 * keeps asking through the log. Every request must be answered exactly once by the version that took
 * it, request ids and the log's sequence must continue across the switch, the node's tree must equal
 * the log's root, results of both versions must verify, and the node must follow without a restart.
 */
import { type Address, createWalletClient, http, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { requestInference } from "../../src/sdk/requestInference.js";
import { type VerifyResultReturnType, verifyResult } from "../../src/sdk/verifyResult.js";
import { resolveSibylContracts } from "../../src/shared/contracts.js";
import { modelIdFromName } from "../../src/shared/encoding.js";
import { hardhatKey, nodeRootWhenSynced, sendRequests, startDevnet } from "../helpers/devnet.js";
import { runSibyl } from "../helpers/processes.js";
import { report, type ScenarioReport, type ScenarioSize, settle, waitForProofs } from "./harness.js";

export interface UpgradeCheck {
  report: ScenarioReport;
  previous: Address;
  current: Address;
  /** Request ids each version took, in order. */
  ids: { previous: bigint[]; current: bigint[] };
  /** Requests the client sent while the switch was under way that the chain refused (no escrow taken). */
  refusedDuringSwitch: number;
  /** Per request: the version whose ResultDelivered answered it. */
  answeredBy: Map<bigint, Address>;
  /** Every delivered result's sequence, in request order. */
  sequences: bigint[];
  unprovenAfter: bigint;
  nodeRoot: bigint | undefined;
  logRoot: bigint;
  verified: VerifyResultReturnType[];
  /** `sibyl verify` of a new-version request, pointed at the old version's address. */
  cliVerify: { code: number | null; stdout: string };
  upgradeOutput: string;
  /** The same node process ran through the switch (never exited), and said it followed. */
  nodeRanThrough: boolean;
  followed: boolean;
}

const LANGUAGE_ID = { provider: "builtin", name: "language-id", builtin: "language-id" } as const;

export async function runUpgrade(size: ScenarioSize): Promise<UpgradeCheck> {
  const started = Date.now();
  const devnet = await startDevnet([LANGUAGE_ID]);
  const node = devnet.startNode(await devnet.writeConfig({ batching: { maxSize: 16, maxWaitMs: 300 } }));
  try {
    await node.waitFor("sibyl node started", 120_000);
    const { publicClient, log } = devnet.sibyl;
    const modelId = modelIdFromName(LANGUAGE_ID.name);
    const fromBlock = (await publicClient.getBlockNumber()) + 1n;
    const half = Math.max(2, Math.ceil(size.requests / 2));

    // In flight during the switch: sent to the old version, not yet answered when the upgrade starts.
    const previousIds = await sendRequests(devnet, half, modelId, (i) => stringToHex(`Bonjour, numéro ${i}`));
    const client = createWalletClient({
      account: privateKeyToAccount(hardhatKey(15)),
      transport: http(devnet.chain.url),
    });
    // A client asking through the log while the switch happens: each request goes to whichever
    // version the log names at that moment; one the paused old version refuses costs nothing.
    let switching = true;
    let refusedDuringSwitch = 0;
    const duringSwitch: bigint[] = [];
    const asker = (async () => {
      for (let i = 0; switching; i++) {
        try {
          const { requestId } = await requestInference(client, {
            coordinator: log.address,
            model: modelId,
            input: `Hello during the switch, number ${i}`,
          });
          duringSwitch.push(requestId);
        } catch {
          refusedDuringSwitch++;
        }
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    })();
    const upgrade = await runSibyl([
      "deploy",
      "--upgrade",
      "--rpc",
      devnet.chain.url,
      "--coordinator",
      log.address,
      "--from-block",
      "0",
    ]);
    switching = false;
    await asker;
    if (upgrade.code !== 0)
      throw new Error(`sibyl deploy --upgrade failed:\n${upgrade.stdout}${upgrade.stderr}`);

    const contracts = await resolveSibylContracts(publicClient, log.address);
    const [previous, current] = contracts.coordinators.map((version) => version.address) as [
      Address,
      Address,
    ];
    const afterIds: bigint[] = [];
    for (let i = 0; i < half; i++) {
      const { requestId } = await requestInference(client, {
        coordinator: log.address,
        model: modelId,
        input: `Hallo nach dem Wechsel, Nummer ${i}`,
      });
      afterIds.push(requestId);
    }
    const currentFirst = contracts.coordinators[1]?.firstRequestId ?? 0n;
    const allIds = [...previousIds, ...duringSwitch, ...afterIds].sort((a, b) => (a < b ? -1 : 1));
    const result = await settle(devnet, allIds, fromBlock, 300_000);
    const unprovenAfter = await waitForProofs(devnet, 120_000);
    const logRoot = await log.read.root();
    const nodeRoot = await nodeRootWhenSynced(`${devnet.dir}/node.db`, logRoot);

    const firstOld = allIds.find((id) => id < currentFirst) as bigint;
    const lastNew = allIds.at(-1) as bigint;
    const verified = await Promise.all(
      [firstOld, lastNew].map((requestId) =>
        verifyResult(publicClient, { coordinator: log.address, requestId }),
      ),
    );
    const cliVerify = await runSibyl([
      "verify",
      String(lastNew),
      "--rpc",
      devnet.chain.url,
      "--coordinator",
      previous,
      "--from-block",
      "0",
    ]);
    const answeredBy = new Map<bigint, Address>();
    const sequences: bigint[] = [];
    for (const id of allIds) {
      const [delivery] = result.deliveries.get(id) ?? [];
      if (delivery === undefined) continue;
      answeredBy.set(id, delivery.coordinator);
      sequences.push(delivery.sequence);
    }
    return {
      report: report(
        "coordinator upgrade under a running node",
        `sibyl deploy --upgrade with ${previousIds.length} requests in flight and a client asking through the log`,
        allIds.length,
        result,
        Date.now() - started,
      ),
      previous,
      current,
      ids: {
        previous: allIds.filter((id) => id < currentFirst),
        current: allIds.filter((id) => id >= currentFirst),
      },
      refusedDuringSwitch,
      answeredBy,
      sequences,
      unprovenAfter,
      nodeRoot,
      logRoot,
      verified,
      cliVerify: { code: cliVerify.code, stdout: cliVerify.stdout },
      upgradeOutput: upgrade.stdout,
      nodeRanThrough: node.child.exitCode === null && node.child.signalCode === null,
      followed: /following the coordinator the log authorized/.test(node.text),
    };
  } finally {
    await node.stop("SIGTERM");
    await devnet.stop();
  }
}
