/**
 * Registers the models every node can serve with no server, key or download: today the fastText
 * language identifier. Its config hash is computed here, at module build time, with the node's own
 * provider code, so it is the hash a node serving `{ provider: "builtin", builtin: "language-id" }`
 * checks the registry against.
 */
import { buildModule } from "@nomicfoundation/ignition-core";
import { configHashOf } from "../../src/node/models/configHash.js";
import { createProvider, modelSpecSchema } from "../../src/node/models/registry.js";
import { modelIdFromName } from "../../src/shared/encoding.js";
import SibylModule from "./Sibyl.js";

/** The language identifier as the registry pins it; `spec` is what a node config lists to serve it. */
export const LANGUAGE_ID = (() => {
  const spec = modelSpecSchema.parse({ provider: "builtin", name: "language-id", builtin: "language-id" });
  return {
    name: spec.name,
    spec,
    modelId: modelIdFromName(spec.name),
    configHash: configHashOf(createProvider(spec)),
  };
})();

/** Every model this module registers. */
export const BUILTIN_MODELS = [LANGUAGE_ID] as const;

/** Registration terms of the language identifier; its answers are a few bytes, `<code> <confidence>`. */
export const LANGUAGE_ID_DEFAULTS = {
  /** 0.0001 ether: a token price for demos; each request also pays its gas on top. */
  fee: 10n ** 14n,
  maxInputBytes: 4096,
  maxOutputBytes: 256,
  /** An hour: the node answers in seconds, the rest is slack for an operator that restarts. */
  timeout: 3600,
} as const;

export default buildModule("BuiltinModels", (m) => {
  const { log, coordinator } = m.useModule(SibylModule);
  m.call(
    coordinator,
    "registerModel",
    [
      LANGUAGE_ID.modelId,
      {
        fee: m.getParameter("fee", LANGUAGE_ID_DEFAULTS.fee),
        maxInputBytes: m.getParameter("maxInputBytes", LANGUAGE_ID_DEFAULTS.maxInputBytes),
        maxOutputBytes: m.getParameter("maxOutputBytes", LANGUAGE_ID_DEFAULTS.maxOutputBytes),
        timeout: m.getParameter("timeout", LANGUAGE_ID_DEFAULTS.timeout),
        enabled: true,
        quorum: 1,
        configHash: LANGUAGE_ID.configHash,
      },
    ],
    { id: "registerLanguageId" },
  );
  return { log, coordinator };
});
