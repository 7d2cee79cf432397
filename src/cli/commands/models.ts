/** `sibyl models`: list the registry, or register the models of a node config (as the owner). */
import { parseArgs } from "node:util";
import { formatEther, parseEther } from "viem";
import { loadConfig } from "../../node/config.js";
import { configHashOf } from "../../node/models/configHash.js";
import { createProvider } from "../../node/models/registry.js";
import { modelNameOf } from "../../sdk/utils.js";
import { sibylCoordinatorAbi } from "../../shared/abi/generated.js";
import { modelIdFromName } from "../../shared/encoding.js";
import { CliError, UsageError } from "../errors.js";
import { resolveTarget, TARGET_HELP, TARGET_OPTIONS, type Target } from "../target.js";
import { walletFor } from "../wallet.js";

/** The coordinator's MAX_QUORUM: checked here too, so a typo fails before any transaction. */
const MAX_QUORUM = 16;

export const MODELS_USAGE = `usage: sibyl models [list] [options]
       sibyl models register --node-config <file> [--fee <eth>] [--quorum <n>] [options]

list      every registered model: fee, limits, quorum, enabled, config hash
register  registers each model of a node config with the hash of its settings, so that node may serve
          it (as the coordinator's owner: key from SIBYL_OWNER_KEY, or the devnet's)

Options:
${TARGET_HELP}
  --node-config <file>    node config whose models to register
  --fee <eth>             fee per request for newly registered models (default 0.0001)
  --quorum <n>            operators that must sign the same answer, 1 to ${MAX_QUORUM} (default 1 for new
                          models; given, it is also set on models already registered)
  -h, --help              show this help
`;

export async function modelsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...TARGET_OPTIONS,
      "node-config": { type: "string" },
      fee: { type: "string" },
      quorum: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(MODELS_USAGE);
    return 0;
  }
  const action = positionals[0] ?? "list";
  if (action !== "list" && action !== "register")
    throw new UsageError(`unknown models action: ${action}`, MODELS_USAGE);
  const quorum = values.quorum === undefined ? undefined : parseQuorum(values.quorum);
  if (quorum !== undefined && action !== "register")
    throw new CliError("--quorum only applies to sibyl models register");
  const target = await resolveTarget(values);
  if (action === "list") return list(target);
  if (!values["node-config"])
    throw new UsageError("sibyl models register needs --node-config <file>", MODELS_USAGE);
  let fee: bigint;
  try {
    fee = parseEther(values.fee ?? "0.0001");
  } catch {
    throw new CliError(`--fee: not an amount of ether: ${values.fee}`);
  }
  return register(target, values["node-config"], fee, quorum);
}

function parseQuorum(text: string): number {
  const quorum = /^\d{1,2}$/.test(text) ? Number(text) : Number.NaN;
  if (!(quorum >= 1 && quorum <= MAX_QUORUM))
    throw new CliError(`--quorum: must be a whole number from 1 to ${MAX_QUORUM}: ${text}`);
  return quorum;
}

async function list(target: Target): Promise<number> {
  const events = await target.client.getContractEvents({
    address: target.coordinator,
    abi: sibylCoordinatorAbi,
    eventName: "ModelRegistered",
    fromBlock: target.fromBlock,
  });
  if (events.length === 0) {
    process.stdout.write("no models registered\n");
    return 0;
  }
  for (const event of events) {
    const modelId = event.args.modelId as `0x${string}`;
    const model = await target.client.readContract({
      address: target.coordinator,
      abi: sibylCoordinatorAbi,
      functionName: "modelOf",
      args: [modelId],
    });
    process.stdout.write(
      `${modelNameOf(modelId)}  fee ${formatEther(model.fee)} ETH, input ≤ ${model.maxInputBytes} B, output ≤ ${model.maxOutputBytes} B, ` +
        `timeout ${model.timeout} s, quorum ${model.quorum}, ${model.enabled ? "enabled" : "disabled"}, config ${model.configHash}\n`,
    );
  }
  return 0;
}

/** `quorum` undefined: 1 for new models, and registered ones keep theirs. */
async function register(
  target: Target,
  configFile: string,
  fee: bigint,
  quorum: number | undefined,
): Promise<number> {
  const config = loadConfig(configFile);
  const wallet = await walletFor(target, "SIBYL_OWNER_KEY", "owner");
  for (const spec of config.models) {
    const modelId = modelIdFromName(spec.name);
    const configHash = configHashOf(createProvider(spec, { ...process.env, [apiKeyEnvOf(spec)]: "unused" }));
    const current = await target.client.readContract({
      address: target.coordinator,
      abi: sibylCoordinatorAbi,
      functionName: "modelOf",
      args: [modelId],
    });
    const registered = current.timeout !== 0;
    if (registered && current.configHash === configHash && (quorum ?? current.quorum) === current.quorum) {
      process.stdout.write(
        `${spec.name}: already registered with this config and quorum ${current.quorum}\n`,
      );
      continue;
    }
    const model = registered
      ? { ...current, configHash, quorum: quorum ?? current.quorum }
      : {
          fee,
          maxInputBytes: 4096,
          maxOutputBytes: 1024,
          timeout: 3600,
          enabled: true,
          quorum: quorum ?? 1,
          configHash,
        };
    const functionName = registered ? "updateModel" : "registerModel";
    const hash = await wallet
      .writeContract({
        address: target.coordinator,
        abi: sibylCoordinatorAbi,
        functionName,
        args: [modelId, model],
        account: wallet.account ?? null,
        chain: wallet.chain,
      })
      .catch((error) => {
        throw new CliError(
          `${functionName} ${spec.name} failed: ${(error as { shortMessage?: string }).shortMessage ?? error}`,
        );
      });
    await target.client.waitForTransactionReceipt({ hash });
    process.stdout.write(
      `${spec.name}: ${registered ? "updated" : "registered"}, quorum ${model.quorum} (config ${configHash})\n`,
    );
  }
  return 0;
}

/** The hash never depends on the key, but building an OpenAI provider needs its variable set. */
function apiKeyEnvOf(spec: { provider: string; apiKeyEnv?: string | null }): string {
  return spec.provider === "openai" && spec.apiKeyEnv ? spec.apiKeyEnv : "OPENAI_API_KEY";
}
