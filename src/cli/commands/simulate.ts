/**
 * `sibyl simulate`: try a model on an input with no chain, as a node would answer it (what Chainlink's
 * simulateScript is for Functions). The node's own provider and executor run the model; nothing is sent.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { hexToBytes } from "viem";
import { loadConfig } from "../../node/config.js";
import { OperatorFaultError } from "../../node/models/executor.js";
import type { ModelSpecInput } from "../../node/models/registry.js";
import { BUILTIN_MODEL_SPECS, simulateModel } from "../../node/models/simulate.js";
import { redact } from "../../node/observe/redact.js";
import { toBytesHex } from "../../sdk/utils.js";
import { CliError, UsageError } from "../errors.js";
import { statusName } from "../format.js";

/** The registry's default for a model registered without limits (deploy's MODEL_DEFAULTS). */
const DEFAULT_MAX_OUTPUT_BYTES = 1024;

export const SIMULATE_USAGE = `usage: sibyl simulate <model> <input> [options]
       sibyl simulate --spec <json | @file> <input> [options]

Runs a model on one input exactly as a node would answer a request for it (the same provider code,
retries, timeouts, answer constraint and output limit), with no chain and no transaction. Prints the
output, the result status, the metadata committed with it and the model's config hash (the one
\`sibyl models register\` pins onchain).

<model>   a model by name: a built-in one (${BUILTIN_MODEL_SPECS.map((spec) => spec.name).join(", ")}), or one of --node-config's models
<input>   the request's input: text (sent as UTF-8) or 0x-prefixed hex bytes

Options:
  --spec <json | @file>     a model spec as a node config's "models" entries are written
  --node-config <file>      look <model> up in this node config's models
  --max-output-bytes <n>    the request's output limit in bytes (default ${DEFAULT_MAX_OUTPUT_BYTES})
  --json                    print one JSON object instead of lines
  -h, --help                show this help

Environment: an OpenAI-compatible spec reads its API key from the variable its apiKeyEnv names.
`;

export async function simulateCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      spec: { type: "string" },
      "node-config": { type: "string" },
      "max-output-bytes": { type: "string", default: String(DEFAULT_MAX_OUTPUT_BYTES) },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(SIMULATE_USAGE);
    return 0;
  }
  const wanted = values.spec === undefined ? 2 : 1;
  if (positionals.length !== wanted) {
    const shape = values.spec === undefined ? "a model name and an input" : "an input (the model is --spec)";
    throw new UsageError(`sibyl simulate takes ${shape}`, SIMULATE_USAGE);
  }
  const spec =
    values.spec === undefined
      ? namedSpec(positionals[0] as string, values["node-config"])
      : specFrom(values.spec);
  const maxOutputBytes = Number(values["max-output-bytes"]);
  if (!Number.isInteger(maxOutputBytes) || maxOutputBytes < 1)
    throw new CliError(`--max-output-bytes: not a positive whole number: ${values["max-output-bytes"]}`);

  const input = hexToBytes(toBytesHex(positionals[wanted - 1] as string));
  const result = await simulateModel(spec, input, { maxOutputBytes }).catch((error: unknown) => {
    // A node would stop the model and answer nothing: say why, with the provider's words.
    if (!(error instanceof OperatorFaultError)) throw error;
    throw new CliError(
      `model "${spec.name}" did not answer: ${error.fault} (${oneLine(error.cause)}); a node would leave its requests unanswered`,
      { cause: error },
    );
  });
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({
        model: result.spec.name,
        provider: result.spec.provider,
        status: statusName(result.status),
        output: result.output,
        metadata: result.metadata,
        configHash: result.configHash,
        ...(result.detail === undefined ? {} : { detail: redact(oneLine(result.detail)) }),
      })}\n`,
    );
    return 0;
  }
  const lines = [
    `model     ${result.spec.name} (${result.spec.provider})`,
    `status    ${statusName(result.status)}`,
    `output    ${result.output}`,
    `metadata  ${Buffer.from(result.metadataHex.slice(2), "hex").toString("utf8")}`,
    `config    ${result.configHash}`,
  ];
  // An error answer commits only its fixed reason; the provider's words help the developer here.
  if (result.detail !== undefined) lines.push(`detail    ${redact(oneLine(result.detail))}`);
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}

function namedSpec(name: string, nodeConfig: string | undefined): ModelSpecInput {
  const specs = nodeConfig === undefined ? BUILTIN_MODEL_SPECS : loadConfig(nodeConfig).models;
  const spec = specs.find((candidate) => candidate.name === name);
  if (spec === undefined) {
    const known = specs.map((candidate) => candidate.name).join(", ");
    const where = nodeConfig === undefined ? "built-in models" : `models of ${nodeConfig}`;
    throw new CliError(`unknown model "${name}": the ${where} are ${known} (or pass --spec)`);
  }
  return spec;
}

function specFrom(text: string): ModelSpecInput {
  let json = text;
  if (text.startsWith("@")) {
    try {
      json = readFileSync(text.slice(1), "utf8");
    } catch (error) {
      throw new CliError(`--spec: cannot read ${text.slice(1)}`, { cause: error });
    }
  }
  try {
    return JSON.parse(json) as ModelSpecInput;
  } catch (error) {
    throw new CliError(`--spec: not JSON (${(error as Error).message})`, { cause: error });
  }
}

function oneLine(detail: unknown): string {
  const text = detail instanceof Error ? detail.message : String(detail);
  return text.split("\n")[0] ?? "";
}
