/**
 * Runs one model provider over a list of inputs in a process of its own and prints what it answered,
 * so a test can compare answers across node processes. Reads a `ModelAnswersJob` as JSON on stdin and
 * prints a `ModelAnswersResult` as JSON on stdout.
 *
 * As a child: `node --import tsx test/helpers/modelAnswers.ts < job.json`; in a test: `modelAnswersInChild`.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Hex } from "viem";
import { LanguageIdProvider } from "../../src/node/models/builtin.js";
import { configHashOf } from "../../src/node/models/configHash.js";
import { LocalGgufProvider, type LocalGgufProviderOptions } from "../../src/node/models/local.js";
import type { ModelProvider } from "../../src/node/models/provider.js";
import { REPO_ROOT } from "./processes.js";

export type ModelAnswersJob = {
  model: { kind: "builtin" } | ({ kind: "local" } & LocalGgufProviderOptions);
  inputs: string[];
  /** Each run answers every input once, in this order of input indexes. */
  runs: number[][];
};

export type ModelAnswersResult = {
  configHash: Hex;
  /** answers[run][input]: indexed by input, whatever order the run asked in. */
  answers: string[][];
};

export function providerFor(model: ModelAnswersJob["model"]): ModelProvider {
  return model.kind === "builtin" ? new LanguageIdProvider({ name: "lang" }) : new LocalGgufProvider(model);
}

/** Answers every run of the job on an already started provider. */
export async function answerRuns(
  provider: ModelProvider,
  inputs: readonly string[],
  runs: readonly number[][],
): Promise<string[][]> {
  const encoder = new TextEncoder();
  const answers: string[][] = [];
  for (const order of runs) {
    const answersOfRun: string[] = new Array(inputs.length);
    for (const index of order) {
      const answer = await provider.run(encoder.encode(inputs[index]), new AbortController().signal);
      answersOfRun[index] = answer.output;
    }
    answers.push(answersOfRun);
  }
  return answers;
}

/** Runs the job in a fresh `node` process and returns what it printed. */
export async function modelAnswersInChild(job: ModelAnswersJob): Promise<ModelAnswersResult> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url)], {
    cwd: REPO_ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdin.end(JSON.stringify(job));
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0) throw new Error(`model answers child exited with ${code}:\n${stderr}`);
  return JSON.parse(stdout) as ModelAnswersResult;
}

async function main(): Promise<void> {
  let text = "";
  for await (const chunk of process.stdin) text += (chunk as Buffer).toString();
  const job = JSON.parse(text) as ModelAnswersJob;
  const provider = providerFor(job.model);
  await provider.start();
  try {
    const answers = await answerRuns(provider, job.inputs, job.runs);
    const result: ModelAnswersResult = { configHash: configHashOf(provider), answers };
    process.stdout.write(JSON.stringify(result));
  } finally {
    await provider.close();
  }
}

if (path.resolve(process.argv[1] ?? "") === fileURLToPath(import.meta.url)) await main();
