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
  slot(slot: bigint): string;
  event(topic0: bigint): string;
  callee(address: bigint): string;
}

const CALLS = new Set(["CALL", "STATICCALL", "DELEGATECALL", "CALLCODE"]);
const ACCOUNT_ACCESS = new Set(["EXTCODESIZE", "EXTCODEHASH", "EXTCODECOPY", "BALANCE"]);
const MEMORY = new Set(["MLOAD", "MSTORE", "MSTORE8", "MCOPY"]);

/** The stack word `fromTop` places below the top (0 = top), as a number. */
function stackWord(step: StructLog, fromTop: number): bigint {
  const stack = step.stack ?? [];
  const word = stack[stack.length - 1 - fromTop];
  if (word === undefined) throw new Error(`trace step ${step.op} has no stack (needs the stack enabled)`);
  return BigInt(word.startsWith("0x") ? word : `0x${word}`);
}

function stageOf(step: StructLog, labels: TraceLabels): string {
  const { op } = step;
  if (op === "SSTORE") return `write ${labels.slot(stackWord(step, 0))}`;
  if (op === "SLOAD") return `read ${labels.slot(stackWord(step, 0))}`;
  if (ACCOUNT_ACCESS.has(op)) return `${op} ${labels.callee(stackWord(step, 0))}`;
  if (MEMORY.has(op)) return "memory reads and writes (with expansion)";
  if (op === "LOG0") return "event (LOG0)";
  if (op.startsWith("LOG")) return `event ${labels.event(stackWord(step, 2))}`;
  if (op === "KECCAK256") return "keccak256 (commitment check, leaf, chain, slots)";
  if (CALLS.has(op)) return `${op} ${labels.callee(stackWord(step, 1))}`;
  if (op === "TSTORE" || op === "TLOAD") return "reentrancy guard (transient storage)";
  if (op.startsWith("CALLDATA")) return "calldata reads and copies";
  return "other execution (arithmetic, stack, jumps, returns)";
}

/**
 * The execution gas of transaction `hash` by stage, before refunds: the steps of the called
 * contract's own frame, each with everything it caused (a CALL includes the callee's execution).
 * The stages add up to the transaction's executed gas, returned too.
 */
export async function executionStages(
  client: Pick<PublicClient, "request">,
  hash: Hex,
  labels: TraceLabels,
): Promise<{ stages: GasStage[]; executed: number }> {
  const trace = (await client.request({
    method: "debug_traceTransaction" as never,
    params: [hash, { disableStack: false, disableMemory: true, disableStorage: true }] as never,
  })) as { structLogs: StructLog[] };
  const steps = trace.structLogs;
  const top = steps[0]?.depth;
  if (top === undefined) throw new Error(`transaction ${hash} executed no code`);
  const byStage = new Map<string, GasStage>();
  let executed = 0;
  let nextTop: StructLog | undefined;
  // Walking backwards, the next step of the top frame is known when a top-frame step is reached.
  for (let i = steps.length - 1; i >= 0; i--) {
    const step = steps[i] as StructLog;
    if (step.depth !== top) continue;
    const gas = nextTop === undefined ? step.gasCost : step.gas - nextTop.gas;
    nextTop = step;
    executed += gas;
    const stage = stageOf(step, labels);
    const entry = byStage.get(stage) ?? { stage, steps: 0, gas: 0 };
    entry.steps += 1;
    entry.gas += gas;
    byStage.set(stage, entry);
  }
  return { stages: [...byStage.values()].sort((a, b) => b.gas - a.gas), executed };
}
