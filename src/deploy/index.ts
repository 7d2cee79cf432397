/**
 * Deploying Sibyl from code, for `sibyl deploy` and `sibyl dev`: the whole stack through the Ignition
 * modules in ignition/modules, then models and operators added at runtime.
 */

export type { SibylConnection } from "./connection.js";
export { type DeclareModelsParameters, declareModels } from "./declareModels.js";
export {
  type DeployedModel,
  deploymentFromJson,
  deploymentToJson,
  type SibylDeployment,
  type SibylDeploymentJson,
} from "./deployment.js";
export {
  type DeploySibylStackParameters,
  type DeploySibylStackReturnType,
  deploySibylStack,
  PARAMETERS_DIR,
} from "./deploySibylStack.js";
export { modelConfigHash } from "./modelConfigHash.js";
export {
  MODEL_DEFAULTS,
  type RegisterModelParameters,
  type RegisterModelReturnType,
  registerModel,
} from "./registerModel.js";
export {
  type RegisterOperatorParameters,
  type RegisterOperatorReturnType,
  registerOperator,
} from "./registerOperator.js";
export {
  type UpgradeCoordinatorParameters,
  type UpgradeCoordinatorReturnType,
  upgradeCoordinator,
} from "./upgradeCoordinator.js";
