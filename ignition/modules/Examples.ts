/**
 * The example dapps, wired to the built-in language identifier so they work on a devnet with no model
 * server or API key.
 *
 * YesNoMarket is not deployed: it needs a chat model that answers "yes" or "no", and no such model is
 * registered by these modules (the language identifier answers `<code> <confidence>`, which would void
 * every market). Deploy it once a chat model is registered.
 */
import { buildModule } from "@nomicfoundation/ignition-core";
import BuiltinModelsModule, { LANGUAGE_ID } from "./BuiltinModels.js";

/** Enough gas for PromptBoard to store an answer of the language identifier's size. */
export const PROMPT_BOARD_CALLBACK_GAS = 300_000;

export default buildModule("Examples", (m) => {
  const { log, coordinator } = m.useModule(BuiltinModelsModule);
  const promptBoard = m.contract("PromptBoard", [
    log,
    LANGUAGE_ID.modelId,
    m.getParameter("promptBoardCallbackGasLimit", PROMPT_BOARD_CALLBACK_GAS),
  ]);
  return { log, coordinator, promptBoard };
});
