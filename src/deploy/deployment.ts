/**
 * What a deployment of the Sibyl stack produced: plain addresses and numbers, so the CLI can write it
 * next to a node config, print it, or hand it to another process. JSON has no bigint, so the JSON form
 * carries them as decimal strings; `deploymentFromJson` checks a file it did not write.
 */
import { type Address, getAddress, type Hex, isAddress } from "viem";
import { z } from "zod";
import { BATCH_SIZES, type BatchSize } from "../shared/encoding.js";
import { SibylError } from "../shared/errors.js";

export interface DeployedModel {
  name: string;
  modelId: Hex;
  configHash: Hex;
}

export interface SibylDeployment {
  chainId: number;
  /** The result log: the deployment's long-lived address, which names the current coordinator. */
  log: Address;
  /** The operators' ledger: stakes, the active set, endpoints. */
  ledger: Address;
  /** The coordinator version current when this record was written (ask the log for today's). */
  coordinator: Address;
  promptBoard: Address;
  /** The Groth16BatchVerifier adapter the log uses for each batch size. */
  verifiers: Record<BatchSize, Address>;
  /** Block of the log's deployment transaction: where a node with an empty database starts. */
  deploymentBlock: bigint;
  models: DeployedModel[];
}

export type SibylDeploymentJson = Omit<SibylDeployment, "verifiers" | "deploymentBlock"> & {
  verifiers: Record<`${BatchSize}`, Address>;
  deploymentBlock: string;
};

const address = z
  .string()
  .refine((value) => isAddress(value, { strict: false }), "must be a 0x-prefixed 20-byte address")
  .transform((value) => getAddress(value));

const bytes32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, "must be 32 bytes of 0x-prefixed hex")
  .transform((value) => value.toLowerCase() as Hex);

const deploymentSchema = z
  .object({
    chainId: z.number().int().positive(),
    log: address,
    ledger: address,
    coordinator: address,
    promptBoard: address,
    verifiers: z
      .object(Object.fromEntries(BATCH_SIZES.map((batchSize) => [String(batchSize), address])))
      .strict(),
    deploymentBlock: z
      .string()
      .regex(/^\d+$/, "must be a block number as a decimal string")
      .transform((value) => BigInt(value)),
    models: z.array(z.object({ name: z.string().min(1), modelId: bytes32, configHash: bytes32 }).strict()),
  })
  .strict();

export function deploymentToJson(deployment: SibylDeployment): SibylDeploymentJson {
  return {
    ...deployment,
    verifiers: Object.fromEntries(
      BATCH_SIZES.map((batchSize) => [String(batchSize), deployment.verifiers[batchSize]]),
    ) as SibylDeploymentJson["verifiers"],
    deploymentBlock: deployment.deploymentBlock.toString(),
    models: deployment.models.map((model) => ({ ...model })),
  };
}

/** Parses what `deploymentToJson` wrote (after a JSON round trip); throws a SibylError naming the field. */
export function deploymentFromJson(json: unknown): SibylDeployment {
  const parsed = deploymentSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SibylError("not a Sibyl deployment", {
      details: issue ? `${issue.path.join(".") || "(root)"}: ${issue.message}` : parsed.error.message,
    });
  }
  const { verifiers, ...rest } = parsed.data;
  return {
    ...rest,
    verifiers: Object.fromEntries(
      BATCH_SIZES.map((batchSize) => [batchSize, verifiers[String(batchSize)]]),
    ) as Record<BatchSize, Address>,
  };
}
