/** What `sibyl node` checks of the deployment before it starts: its models registered and pinned, its operator active. */
import type { Address, Hex, PublicClient } from "viem";
import { operatorLedgerAbi, sibylCoordinatorAbi } from "../shared/abi/generated.js";
import { resolveSibylContracts, type SibylContracts } from "../shared/contracts.js";
import { modelIdFromName } from "../shared/encoding.js";
import { SibylError } from "../shared/errors.js";
import type { NodeConfig } from "./config.js";
import { configHashOf } from "./models/configHash.js";
import { createProvider } from "./models/registry.js";
import type { Served } from "./models/served.js";

export class StartupError extends SibylError {
  override name = "StartupError";
}

/**
 * Every configured model must be registered and pinned to this config, and the operator active. Fills
 * `served` with the started providers as it goes, so the caller can close them if this throws.
 */
export async function checkDeployment(
  client: PublicClient,
  config: NodeConfig,
  operator: Address,
  env: NodeJS.ProcessEnv,
  served: Map<Hex, Served>,
): Promise<SibylContracts> {
  const address = config.chain.coordinator;
  const code = await client.getCode({ address });
  if (code === undefined || code === "0x") {
    throw new StartupError(`chain.coordinator: no contract at ${address}`);
  }
  const contracts = await resolveSibylContracts(client, address).catch((error) => {
    throw new StartupError(`chain.coordinator: ${address} is not a Sibyl log or coordinator`, {
      cause: error,
    });
  });
  // Models are terms of the version taking requests now.
  const coordinator = contracts.current;
  for (const [index, spec] of config.models.entries()) {
    const provider = createProvider(spec, env);
    const modelId = modelIdFromName(spec.name);
    // Some settings are only known once the model is loaded (a GGUF file's digest).
    await provider.start();
    served.set(modelId, { provider, spec, modelFee: 0n, quorum: 1 });
    const model = await client.readContract({
      address: coordinator,
      abi: sibylCoordinatorAbi,
      functionName: "modelOf",
      args: [modelId],
    });
    const field = `models.${index}`;
    if (model.timeout === 0)
      throw new StartupError(`${field}: model "${spec.name}" is not registered on ${coordinator}`);
    served.set(modelId, { provider, spec, modelFee: model.fee, quorum: model.quorum });
    const expected = configHashOf(provider);
    if (model.configHash !== expected) {
      throw new StartupError(
        `${field}: the config of "${spec.name}" hashes to ${expected}, the registry pins ${model.configHash}`,
        { details: "serve the settings the model was registered with, or update its registration" },
      );
    }
  }
  const { active } = await client.readContract({
    address: contracts.ledger,
    abi: operatorLedgerAbi,
    functionName: "operatorOf",
    args: [operator],
  });
  if (!active)
    throw new StartupError(`operator ${operator} is not an active operator of ${contracts.ledger}`);
  return contracts;
}
