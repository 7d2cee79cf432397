/**
 * Load: bursts across three models (the built-in one and two OpenAI-protocol models) against one node,
 * with latency (request seen → result seen, polled every 200 ms) and the daemon's and prover's memory
 * sampled through the run. Two equal bursts back to back: if memory grew with the work done, the
 * second burst's peak would stand above the first's.
 */
import { readFileSync } from "node:fs";
import { type Hex, stringToHex } from "viem";
import { modelIdFromName } from "../../src/shared/encoding.js";
import { sendRequests, startDevnet } from "../helpers/devnet.js";
import { FakeOpenAIServer } from "../helpers/openaiServer.js";
import { report, type ScenarioReport, type ScenarioSize, settle } from "./harness.js";

export interface LoadCheck {
  report: ScenarioReport;
  latencyMs: { p50: number; p95: number; max: number };
  /** Peak resident memory (daemon + prover) during each burst, MiB. */
  peakRssMiB: number[];
}

const MODELS = ["language-id", "chat-echo", "chat-upper"];

/** `postgresUrl`: the node keeps its state there instead of SQLite. */
export async function runLoad(size: ScenarioSize, postgresUrl?: string): Promise<LoadCheck> {
  const started = Date.now();
  const server = new FakeOpenAIServer();
  const { url, close } = await server.start();
  const devnet = await startDevnet([
    { provider: "builtin", name: "language-id", builtin: "language-id" },
    { provider: "openai", name: "chat-echo", model: "echo-1", baseURL: url },
    { provider: "openai", name: "chat-upper", model: "upper-1", baseURL: url },
  ]);
  const node = devnet.startNode(
    await devnet.writeConfig({
      ...(postgresUrl ? { store: { kind: "postgres" as const, url: postgresUrl } } : {}),
      batching: { maxSize: 64, maxWaitMs: 200 },
      execution: { concurrency: 32 },
    }),
  );
  try {
    await node.waitFor("sibyl node started", 120_000);
    const fromBlock = (await devnet.sibyl.publicClient.getBlockNumber()) + 1n;
    const seen = watchEvents(devnet, fromBlock);
    const ids: bigint[] = [];
    const peakRssMiB: number[] = [];
    for (let burst = 0; burst < 2; burst++) {
      const sampler = sampleRss(node.child.pid as number);
      const count = Math.ceil(size.requests / 2);
      for (const [m, model] of MODELS.entries()) {
        const share = Math.floor(count / MODELS.length) + (m < count % MODELS.length ? 1 : 0);
        ids.push(...(await sendBurst(devnet, model, share, burst)));
      }
      await settle(devnet, ids, fromBlock, 600_000);
      peakRssMiB.push(sampler.stop());
    }
    const result = await settle(devnet, ids, fromBlock);
    const latencies = ids
      .map((id) => (seen.delivered.get(id) ?? Number.NaN) - (seen.requested.get(id) ?? Number.NaN))
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    seen.stop();
    return {
      report: report(
        "load",
        `${ids.length} requests in 2 bursts over 3 models`,
        ids.length,
        result,
        Date.now() - started,
      ),
      latencyMs: {
        p50: quantile(latencies, 0.5),
        p95: quantile(latencies, 0.95),
        max: latencies.at(-1) ?? Number.NaN,
      },
      peakRssMiB,
    };
  } finally {
    await node.stop("SIGTERM");
    await devnet.stop();
    await close();
  }
}

function sendBurst(
  devnet: Awaited<ReturnType<typeof startDevnet>>,
  model: string,
  count: number,
  burst: number,
) {
  return sendRequests(
    devnet,
    count,
    modelIdFromName(model),
    (i): Hex => stringToHex(`burst ${burst} request ${i}: how are you today?`),
  );
}

/** First-seen wall time of each request and each result, polled from the chain. */
export function watchEvents(devnet: Awaited<ReturnType<typeof startDevnet>>, fromBlock: bigint) {
  const requested = new Map<bigint, number>();
  const delivered = new Map<bigint, number>();
  let next = fromBlock;
  let stopped = false;
  const poll = async () => {
    while (!stopped) {
      const head = await devnet.sibyl.publicClient.getBlockNumber();
      if (head >= next) {
        const { coordinator } = devnet.sibyl;
        const [asks, answers] = await Promise.all([
          coordinator.getEvents.InferenceRequested({}, { fromBlock: next, toBlock: head }),
          coordinator.getEvents.ResultDelivered({}, { fromBlock: next, toBlock: head }),
        ]);
        const now = Date.now();
        for (const event of asks) requested.set(event.args.requestId as bigint, now);
        for (const event of answers) delivered.set(event.args.requestId as bigint, now);
        next = head + 1n;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  void poll();
  return { requested, delivered, stop: () => (stopped = true) };
}

/** Peak VmRSS of a process and its children, sampled every 250 ms, in MiB. */
function sampleRss(pid: number) {
  let peak = 0;
  const timer = setInterval(() => {
    peak = Math.max(peak, [pid, ...childrenOf(pid)].reduce((sum, p) => sum + rssKiB(p), 0) / 1024);
  }, 250);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.round(peak);
    },
  };
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

function rssKiB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}
