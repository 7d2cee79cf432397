/**
 * Where a transaction's execution gas goes, from its opcode trace (debug_traceTransaction): each
 * top-level step's gas including any call it makes, grouped into stages a reader can act on.
 */
import type { Hex, PublicClient } from "viem";

interface StructLog {
  op: string;
  gas: number;
  gasCost: number;
  depth: number;
  stack?: string[];
}

export interface GasStage {
  stage: string;
  /** How many steps the stage holds (SSTOREs, LOGs, calls…). */
  steps: number;
  gas: number;
}

/** Names for what a trace touches: storage slots, event topics, call targets. */
export interface TraceLabels {
  /** What slot `slot` of `contract`'s storage holds. */
  slot(contract: bigint, slot: bigint): string;
  event(topic0: bigint): string;
  callee(address: bigint): string;
  /**
   * Whether a call into `address` is staged step by step (its own slots, events and calls) instead of
   * as one call: the deployment's own contracts are, so the split between them stays readable.
   */
  opens(address: bigint): boolean;
}

const CALLS = new Set(["CALL", "STATICCALL", "DELEGATECALL", "CALLCODE"]);
/** Calls that run the callee's code on the caller's storage. */
const CALLS_IN_CALLER_STORAGE = new Set(["DELEGATECALL", "CALLCODE"]);
const ACCOUNT_ACCESS = new Set(["EXTCODESIZE", "EXTCODEHASH", "EXTCODECOPY", "BALANCE"]);
const MEMORY = new Set(["MLOAD", "MSTORE", "MSTORE8", "MCOPY"]);

/** The stack word `fromTop` places below the top (0 = top), as a number. */
function stackWord(step: StructLog, fromTop: number): bigint {
  const stack = step.stack ?? [];
  const word = stack[stack.length - 1 - fromTop];
  if (word === undefined) throw new Error(`trace step ${step.op} has no stack (needs the stack enabled)`);
  return BigInt(word.startsWith("0x") ? word : `0x${word}`);
}

/** A call frame: the account whose storage it uses (the caller's under DELEGATECALL). */
interface Frame {
  storage: bigint;
  /** Put before the stages no slot, event or callee names: empty for the transaction's own frame. */
  where: string;
}

function stageOf(step: StructLog, frame: Frame, labels: TraceLabels): string {
  const { op } = step;
  if (op === "SSTORE") return `write ${labels.slot(frame.storage, stackWord(step, 0))}`;
  if (op === "SLOAD") return `read ${labels.slot(frame.storage, stackWord(step, 0))}`;
  if (ACCOUNT_ACCESS.has(op)) return `${op} ${labels.callee(stackWord(step, 0))}`;
  if (op.startsWith("LOG") && op !== "LOG0") return `event ${labels.event(stackWord(step, 2))}`;
  if (CALLS.has(op)) return `${op} ${labels.callee(stackWord(step, 1))}`;
  return `${frame.where}${genericStage(op)}`;
}

function genericStage(op: string): string {
  if (MEMORY.has(op)) return "memory reads and writes (with expansion)";
  if (op === "LOG0") return "event (LOG0)";
  if (op === "KECCAK256") return "keccak256 (commitment check, leaf, chain, slots)";
  if (op === "TSTORE" || op === "TLOAD") return "reentrancy guard (transient storage)";
  if (op.startsWith("CALLDATA")) return "calldata reads and copies";
  return "other execution (arithmetic, stack, jumps, returns)";
}

/**
 * The execution gas of transaction `hash` by stage, before refunds: the steps of the called
 * contract's own frame, each with everything it caused (a CALL includes the callee's execution),
 * except that a call into a contract `labels.opens` is broken down into its own steps the same way
 * (the call keeps only its own cost: account access, value, memory). The stages add up to the
 * transaction's executed gas, returned too.
 */
export async function executionStages(
  client: Pick<PublicClient, "request">,
  hash: Hex,
  labels: TraceLabels,
): Promise<{ stages: GasStage[]; executed: number }> {
  const [trace, tx] = await Promise.all([
    client.request({
      method: "debug_traceTransaction" as never,
      params: [hash, { disableStack: false, disableMemory: true, disableStorage: true }] as never,
    }) as Promise<{ structLogs: StructLog[] }>,
    client.request({ method: "eth_getTransactionByHash" as never, params: [hash] as never }) as Promise<{
      to: Hex | null;
    }>,
  ]);
  const steps = trace.structLogs;
  if (steps.length === 0 || tx.to === null) throw new Error(`transaction ${hash} executed no code`);
  const byStage = new Map<string, GasStage>();
  const add = (stage: string, gas: number) => {
    const entry = byStage.get(stage) ?? { stage, steps: 0, gas: 0 };
    entry.steps += 1;
    entry.gas += gas;
    byStage.set(stage, entry);
  };

  /** Stages the frame whose first step is `first`; returns the gas it used. */
  const stageFrame = (first: number, frame: Frame): number => {
    const depth = (steps[first] as StructLog).depth;
    let used = 0;
    for (let i = first; i < steps.length; ) {
      const step = steps[i] as StructLog;
      // The frame's next step: after any frames this step opened, back at this depth.
      let next = i + 1;
      while (next < steps.length && (steps[next] as StructLog).depth > depth) next++;
      const after = steps[next];
      const gas = after !== undefined && after.depth === depth ? step.gas - after.gas : step.gasCost;
      used += gas;
      const child = steps[i + 1];
      const callee = CALLS.has(step.op) ? stackWord(step, 1) : undefined;
      if (callee !== undefined && child !== undefined && child.depth > depth && labels.opens(callee)) {
        const storage = CALLS_IN_CALLER_STORAGE.has(step.op) ? frame.storage : callee;
        const inside = stageFrame(i + 1, { storage, where: `${labels.callee(callee)}: ` });
        add(`${step.op} ${labels.callee(callee)}: the call itself`, gas - inside);
      } else {
        add(stageOf(step, frame, labels), gas);
      }
      if (after === undefined || after.depth < depth) break;
      i = next;
    }
    return used;
  };
  const to = BigInt(tx.to);
  const executed = stageFrame(0, { storage: to, where: "" });
  return { stages: [...byStage.values()].sort((a, b) => b.gas - a.gas), executed };
}
