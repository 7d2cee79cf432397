/**
 * A Sibyl deployment: the result log with a Groth16 verifier for every batch size that has a circuit,
 * the operators' ledger, and the first coordinator version, authorized in the log.
 *
 * The owner-only wiring (setVerifier and authorizeCoordinator here, registerModel in BuiltinModels) is
 * sent by the deploying account, and Ignition cannot send from a parameter, so `owner` must be that
 * account. To hand the contracts to a multisig, deploy as yourself and call transferOwnership on each
 * afterwards (Ownable2Step).
 */
import { buildModule } from "@nomicfoundation/ignition-core";
import { verifierContractName } from "../../src/node/prover/artifacts.js";
import { BATCH_SIZES } from "../../src/shared/encoding.js";

/** The coordinator's constructor parameters, with the values a fresh devnet uses. */
export const SIBYL_DEFAULTS = {
  /**
   * Gas a lone fulfilment takes besides its callback and output (~290k measured at batch 1), with
   * headroom: quotes use it to size the escrow; the charge itself is measured.
   */
  deliveryGas: 350_000,
  /** Quote gas per byte of the model's largest output: calldata at EIP-7623's floor, and log data. */
  gasPerOutputByte: 48,
  /** 1 gwei: keeps fees meaningful on chains whose base fee drops to almost nothing. */
  minGasPrice: 10n ** 9n,
  /** The most tip per gas requesters pay for; above it, a fulfil's tip is the operator's own cost. */
  maxPriorityFeePerGas: 3n * 10n ** 9n,
  maxCallbackGasLimit: 2_000_000,
  /**
   * Gas each result delivered without a proof holds for whoever proves it: a 64-leaf proof costs
   * ~10.5k a leaf (bench:gas), with headroom.
   */
  proofGasPerLeaf: 12_000,
  minStake: 10n ** 18n,
  /** A week: long enough to punish misbehaviour seen after an operator asks to leave. */
  unbondingDelay: 7n * 24n * 3600n,
  /** A minute for the assigned operator alone (answer, prove, mine); then any operator may deliver. */
  exclusiveWindow: 60n,
  /**
   * 0.01 ETH from an assignee that lets its window pass, burned (paid to nobody, so nobody gains by
   * causing it): a hundred times the default model fee, so skipping work never pays.
   */
  livenessPenalty: 10n ** 16n,
  /** Half the stake (0.5 ETH at the minimum) to whoever proves an operator signed two answers. */
  equivocationSlashBps: 5_000,
} as const;

/** The id of a batch size's adapter, within the module and among its results. */
export function adapterId(batchSize: number): string {
  return `Groth16BatchVerifier${batchSize}`;
}

/** The coordinator's fee parameters, from the module's parameters. */
// biome-ignore lint/suspicious/noExplicitAny: Ignition's module builder type is internal.
export function feeParametersOf(m: any) {
  return {
    deliveryGas: m.getParameter("deliveryGas", SIBYL_DEFAULTS.deliveryGas),
    gasPerOutputByte: m.getParameter("gasPerOutputByte", SIBYL_DEFAULTS.gasPerOutputByte),
    minGasPrice: m.getParameter("minGasPrice", SIBYL_DEFAULTS.minGasPrice),
    maxPriorityFeePerGas: m.getParameter("maxPriorityFeePerGas", SIBYL_DEFAULTS.maxPriorityFeePerGas),
    maxCallbackGasLimit: m.getParameter("maxCallbackGasLimit", SIBYL_DEFAULTS.maxCallbackGasLimit),
    proofGasPerLeaf: m.getParameter("proofGasPerLeaf", SIBYL_DEFAULTS.proofGasPerLeaf),
  };
}

export default buildModule("Sibyl", (m) => {
  const owner = m.getParameter("owner", m.getAccount(0));
  const log = m.contract("SibylLog", [owner]);
  const ledger = m.contract("OperatorLedger", [
    owner,
    log,
    {
      minStake: m.getParameter("minStake", SIBYL_DEFAULTS.minStake),
      unbondingDelay: m.getParameter("unbondingDelay", SIBYL_DEFAULTS.unbondingDelay),
      exclusiveWindow: m.getParameter("exclusiveWindow", SIBYL_DEFAULTS.exclusiveWindow),
      livenessPenalty: m.getParameter("livenessPenalty", SIBYL_DEFAULTS.livenessPenalty),
      equivocationSlashBps: m.getParameter("equivocationSlashBps", SIBYL_DEFAULTS.equivocationSlashBps),
    },
  ]);
  const coordinator = m.contract("SibylCoordinator", [owner, log, ledger, 1n, feeParametersOf(m)]);
  m.call(log, "authorizeCoordinator", [coordinator], { id: "authorizeCoordinator" });

  const verifiers = BATCH_SIZES.map((batchSize) => {
    const verifier = m.contract(verifierContractName(batchSize));
    const adapter = m.contract("Groth16BatchVerifier", [verifier, batchSize], { id: adapterId(batchSize) });
    m.call(log, "setVerifier", [batchSize, adapter], { id: `setVerifier${batchSize}` });
    return [adapterId(batchSize), adapter] as const;
  });
  // The constructor prepares the first 256 checkpoint slots of the pending queue; the rest here, so no
  // delivery ever pays for a fresh slot.
  for (const from of [256, 512, 768]) {
    m.call(log, "prepareCheckpoints", [from, from + 256], { id: `prepareCheckpoints${from}` });
  }
  return { log, ledger, coordinator, ...Object.fromEntries(verifiers) };
});
