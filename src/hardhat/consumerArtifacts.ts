/**
 * The project's artifact manager, seen through Sibyl's: a consumer's artifact (its ABI has the
 * SibylConsumer entry, `onSibylResult`) comes with the coordinator's custom errors added to its ABI,
 * since a request it makes reverts with them; and a contract name the project does not have, but the
 * Sibyl package ships (SibylCoordinator, PromptBoard...), reads as the package's artifact. Everything
 * else, build infos included, is the project's, unchanged.
 */

import type { ArtifactManager } from "hardhat/types/artifacts";
import type { Abi, AbiParameter } from "viem";
import { SibylArtifactResolver } from "../deploy/artifacts.js";
import { sibylAbi } from "../shared/abi/generated.js";

type AbiError = Extract<Abi[number], { type: "error" }>;

const COORDINATOR_ERRORS = (sibylAbi as Abi).filter((item): item is AbiError => item.type === "error");

export function withSibylArtifacts(
  artifacts: ArtifactManager,
  sibyl: SibylArtifactResolver = new SibylArtifactResolver(),
): ArtifactManager {
  const readArtifact = async (name: string) => {
    if (!(await artifacts.artifactExists(name)) && (await sibyl.hasArtifact(name))) {
      return sibyl.loadArtifact(name);
    }
    const artifact = await artifacts.readArtifact(name);
    return isConsumer(artifact.abi) ? { ...artifact, abi: withCoordinatorErrors(artifact.abi) } : artifact;
  };
  const artifactExists = async (name: string) =>
    (await artifacts.artifactExists(name)) || (await sibyl.hasArtifact(name));
  // A proxy, not a copy: whatever else the manager has (now or in a later Hardhat) stays the project's.
  return new Proxy(artifacts, {
    get(target, property, receiver) {
      if (property === "readArtifact") return readArtifact;
      if (property === "artifactExists") return artifactExists;
      const value = Reflect.get(target, property, receiver);
      // The manager keeps its state in private fields: its methods must run on it, not on the proxy.
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function isConsumer(abi: readonly unknown[]): boolean {
  return abi.some((item) => {
    const entry = item as { type?: string; name?: string };
    return entry.type === "function" && entry.name === "onSibylResult";
  });
}

/** The ABI plus every coordinator error it does not already declare (compared by signature). */
function withCoordinatorErrors(abi: readonly unknown[]): unknown[] {
  const declared = new Set(
    abi.flatMap((item) => ((item as AbiError).type === "error" ? [signature(item as AbiError)] : [])),
  );
  return [...abi, ...COORDINATOR_ERRORS.filter((error) => !declared.has(signature(error)))];
}

function signature(error: AbiError): string {
  const type = (input: AbiParameter): string =>
    "components" in input && input.components
      ? `(${input.components.map(type).join(",")})${input.type.slice("tuple".length)}`
      : input.type;
  return `${error.name}(${error.inputs.map(type).join(",")})`;
}
