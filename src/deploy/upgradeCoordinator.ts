/**
 * Ships a new coordinator version beside the current one without losing the log or any stake: the
 * current version is paused (so its last request id is final), the new one is deployed with ids that
 * continue after it, the models registered on the current version are registered on the new one with
 * the same terms, and the log authorizes it. From that transaction on, new requests go to the new
 * version (the log names it, consumers built on the log follow), and the old one only finishes or
 * refunds the requests it took: it still delivers, and its requests can still be cancelled after their
 * deadline; it takes no new ones. Revoke it in the log (`revokeCoordinator`) once nothing is pending.
 */
import type { Address, Hex } from "viem";
import { sibylAbi, sibylCoordinatorAbi, sibylLogAbi } from "../shared/abi/generated.js";
import { resolveSibylContracts } from "../shared/contracts.js";
import { SibylError } from "../shared/errors.js";
import { SibylArtifactResolver } from "./artifacts.js";
import { publicClientOf, type SibylConnection, walletFor } from "./connection.js";

export interface UpgradeCoordinatorParameters {
  /** The deployment's log or any of its coordinators. */
  coordinator: Address;
  /** Where to look for the current version's model registrations; default 0. */
  fromBlock?: bigint;
}

export interface UpgradeCoordinatorReturnType {
  previous: Address;
  coordinator: Address;
  /** The first request id the new version takes. */
  firstRequestId: bigint;
  /** The models registered on the new version, copied from the previous one. */
  models: Hex[];
  /** Block of the authorization: requests from here on go to the new version. */
  authorizedAt: bigint;
}

/**
 * Sent by the owner of the current coordinator and of the log, which must be an account of `connection`.
 *
 * @example
 * const { coordinator } = await upgradeCoordinator(connection, { coordinator: deployment.log });
 */
export async function upgradeCoordinator(
  connection: SibylConnection,
  { coordinator: address, fromBlock = 0n }: UpgradeCoordinatorParameters,
): Promise<UpgradeCoordinatorReturnType> {
  const client = publicClientOf(connection);
  const contracts = await resolveSibylContracts(client, address);
  const previous = { address: contracts.current, abi: sibylCoordinatorAbi } as const;
  const [owner, logOwner, fees, paused] = await Promise.all([
    client.readContract({ ...previous, functionName: "owner" }),
    client.readContract({ address: contracts.log, abi: sibylLogAbi, functionName: "owner" }),
    client.readContract({ ...previous, functionName: "feeParameters" }),
    client.readContract({ ...previous, functionName: "paused" }),
  ]);
  const wallet = await walletFor(connection, owner);
  const send = async (what: string, hash: Hex) => {
    const receipt = await client.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new SibylError(`${what} reverted (${hash})`);
    return receipt;
  };

  // Frozen first, so the id the new version starts at is one the old can never give.
  if (!paused)
    await send(
      "pausing the current coordinator",
      await wallet.writeContract({ ...previous, functionName: "pause" }),
    );
  const firstRequestId = await client.readContract({ ...previous, functionName: "nextRequestId" });
  const artifact = await new SibylArtifactResolver().loadArtifact("SibylCoordinator");
  const deployed = await send(
    "deploying the new coordinator",
    await wallet.deployContract({
      abi: sibylCoordinatorAbi,
      bytecode: artifact.bytecode as Hex,
      args: [owner, contracts.log, contracts.ledger, firstRequestId, fees],
    }),
  );
  const next = deployed.contractAddress;
  if (!next) throw new SibylError("deploying the new coordinator created no contract");

  // Every model the current version knows, with the terms it has now.
  const registrations = await client.getContractEvents({
    address: contracts.current,
    abi: sibylAbi,
    eventName: "ModelRegistered",
    fromBlock,
    strict: true,
  });
  const models = [...new Set(registrations.map((event) => event.args.modelId))];
  for (const modelId of models) {
    const model = await client.readContract({ ...previous, functionName: "modelOf", args: [modelId] });
    await send(
      `registering model ${modelId} on the new coordinator`,
      await wallet.writeContract({
        address: next,
        abi: sibylCoordinatorAbi,
        functionName: "registerModel",
        args: [modelId, model],
      }),
    );
  }
  const logWallet = await walletFor(connection, logOwner);
  const authorized = await send(
    "authorizing the new coordinator in the log",
    await logWallet.writeContract({
      address: contracts.log,
      abi: sibylLogAbi,
      functionName: "authorizeCoordinator",
      args: [next],
    }),
  );
  return {
    previous: contracts.current,
    coordinator: next,
    firstRequestId,
    models,
    authorizedAt: authorized.blockNumber,
  };
}
