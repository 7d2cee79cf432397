/**
 * The few things the deploy API took from the hardhat-ignition plugin, done here so that deploying
 * Sibyl needs only ignition-core and a provider (no Hardhat runtime, no plugin in the user's project).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import {
  type DeploymentParameters,
  type DeploymentResult,
  DeploymentResultType,
} from "@nomicfoundation/ignition-core";
import { SibylError } from "../shared/errors.js";

/** Where a journaled deployment lives: the plugin's own place, so `hardhat ignition status` finds it. */
export const JOURNALS_DIR = path.join(process.cwd(), "ignition", "deployments");

/** A parameters file as Ignition writes them: JSON whose big integers are strings like "10n". */
export async function readParametersFile(file: string): Promise<DeploymentParameters> {
  const text = await readFile(file, "utf8").catch((error: unknown) => {
    throw new SibylError(`cannot read the Ignition parameters file ${file}`, { cause: error });
  });
  try {
    return JSON.parse(text, (_key, value) =>
      typeof value === "string" && /^\d+n$/.test(value) ? BigInt(value.slice(0, -1)) : value,
    ) as DeploymentParameters;
  } catch (error) {
    throw new SibylError(`the Ignition parameters file ${file} is not valid JSON`, { cause: error });
  }
}

/** Every reason a deployment did not succeed, one per line, naming the future that failed. */
export function deploymentFailure(result: DeploymentResult): string {
  switch (result.type) {
    case DeploymentResultType.SUCCESSFUL_DEPLOYMENT:
      return "";
    case DeploymentResultType.VALIDATION_ERROR:
    case DeploymentResultType.RECONCILIATION_ERROR:
      return Object.entries(result.errors)
        .map(([future, errors]) => `${future}: ${errors.join("; ")}`)
        .join("\n");
    case DeploymentResultType.PREVIOUS_RUN_ERROR:
      return Object.entries(result.errors)
        .map(([future, errors]) => `${future} failed in a previous run: ${errors.join("; ")}`)
        .join("\n");
    case DeploymentResultType.EXECUTION_ERROR:
      return [
        ...result.failed.map(({ futureId, error }) => `${futureId}: ${error}`),
        ...result.timedOut.map(({ futureId }) => `${futureId}: timed out`),
        ...result.held.map(({ futureId, reason }) => `${futureId}: held (${reason})`),
      ].join("\n");
  }
}
