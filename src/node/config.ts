/**
 * The node's configuration: one zod schema, read once from a JSON file plus SIBYL_* environment
 * overrides, into a readonly object. A bad value stops the node at start with the field's path and
 * the reason. Secrets are never part of it: the config names the environment variable (or keystore
 * file) that holds them.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { getAddress, isAddress } from "viem";
import { z } from "zod";
import { BATCH_SIZES } from "../shared/encoding.js";
import { SibylError } from "../shared/errors.js";
import { cosignUrlOf } from "./cosign/peerAddress.js";
import { envVarName } from "./envVarName.js";
import { modelSpecSchema } from "./models/registry.js";
import { issueLines } from "./zodIssues.js";

const MAX_BATCH = BATCH_SIZES[BATCH_SIZES.length - 1] as number;
/** The coordinator's MAX_PENDING_LEAVES. */
export const MAX_PENDING_LEAVES = 512;

const address = z
  .string()
  .refine((value) => isAddress(value, { strict: false }), "must be a 0x-prefixed 20-byte address")
  .transform((value) => getAddress(value));

const url = z.string().url("must be a URL like http://127.0.0.1:8545");

export const configSchema = z
  .object({
    chain: z
      .object({
        rpcUrl: url,
        coordinator: address,
        /** Where a node with an empty database starts reading events. */
        deploymentBlock: z.coerce.bigint().nonnegative().default(0n),
        /** Blocks a request must be buried under before the node acts on it (0 on a local chain). */
        confirmations: z.number().int().min(0).max(1_000).default(0),
        pollIntervalMs: z.number().int().min(10).max(600_000).default(500),
        /** Most blocks per getLogs call; RPC providers cap it. */
        maxLogRange: z.number().int().min(1).max(1_000_000).default(2_000),
        /** Recent block hashes kept to find the common ancestor after a reorg. */
        reorgDepth: z.number().int().min(1).max(10_000).default(128),
      })
      .strict(),
    operator: z
      .object({
        /** Environment variable that holds the hex private key (devnets only, unless allowRawKey). */
        privateKeyEnv: envVarName.default("SIBYL_OPERATOR_KEY"),
        /**
         * Or an encrypted JSON keystore (Web3 Secret Storage v3), its password read from a file or an
         * environment variable; with neither, typed at a prompt when the node starts on a terminal.
         */
        keystore: z
          .object({
            path: z.string().min(1),
            passwordEnv: envVarName.optional(),
            passwordFile: z.string().min(1).optional(),
          })
          .strict()
          .refine((keystore) => keystore.passwordEnv === undefined || keystore.passwordFile === undefined, {
            message: "give passwordFile or passwordEnv, not both",
            path: ["passwordFile"],
          })
          .optional(),
        /** A raw key off a devnet is refused unless the operator says they mean it. */
        allowRawKey: z.boolean().default(false),
      })
      .strict()
      .default({}),
    database: z
      .object({ path: z.string().min(1).default("sibyl-node.db") })
      .strict()
      .default({}),
    /**
     * Where the node keeps its state: SQLite (the default: `database.path`, one node) or a PostgreSQL
     * server shared by the operator's replicas, one of which leads (a lease of `leaseMs`).
     */
    store: z
      .discriminatedUnion("kind", [
        z.object({ kind: z.literal("sqlite"), path: z.string().min(1) }).strict(),
        z
          .object({
            kind: z.literal("postgres"),
            url: z.string().refine((value) => /^postgres(ql)?:\/\/[^/]/.test(value), {
              // Never the value: it may hold the password.
              message: "must be a postgres:// or postgresql:// URL",
            }),
            /** How long a leader's lease lasts without renewal: a standby takes over within about this. */
            leaseMs: z.number().int().min(1_000).max(60_000).default(5_000),
          })
          .strict(),
      ])
      .optional(),
    models: z
      .array(modelSpecSchema)
      .min(1, "serve at least one model")
      .superRefine((models, ctx) => {
        const seen = new Set<string>();
        for (const [index, model] of models.entries()) {
          if (seen.has(model.name)) {
            ctx.addIssue({
              code: "custom",
              path: [index, "name"],
              message: `duplicate model "${model.name}"`,
            });
          }
          seen.add(model.name);
        }
      }),
    execution: z
      .object({
        concurrency: z.number().int().min(1).max(256).default(8),
        /** A model stopped by an operator fault is tried again after this pause, doubled per failure... */
        probeAfterMs: z.number().int().min(10).max(3_600_000).default(30_000),
        /** ...up to this one. */
        maxProbeAfterMs: z.number().int().min(10).max(86_400_000).default(600_000),
        /**
         * A model stopped this long is withdrawn onchain (not drawn for new requests, so not made late
         * on them) and declared again once it works; a shorter blip is not worth two transactions.
         */
        withdrawStoppedAfterMs: z.number().int().min(0).max(86_400_000).default(60_000),
      })
      .strict()
      .default({}),
    batching: z
      .object({
        maxSize: z.number().int().min(1).max(MAX_BATCH).default(MAX_BATCH),
        /** How long the oldest answer may wait for company before its batch goes anyway. */
        maxWaitMs: z.number().int().min(0).max(600_000).default(50),
      })
      .strict()
      .default({}),
    proving: z
      .object({
        /**
         * Answers go with their proof in one transaction (fulfil) when at least this many go together
         * and nothing else waits (no backlog, no delivered result waiting for its proof); fewer, and
         * bursts, are delivered at once and proven later in bulk. 0: always deliver first.
         */
        fulfilWithProofFrom: z.number().int().min(0).max(MAX_BATCH).default(MAX_BATCH),
        /** Delivered results are proven once this many fit one proof... */
        batchSize: z.number().int().min(1).max(MAX_BATCH).default(MAX_BATCH),
        /** ...or once the oldest has waited this long. */
        maxWaitMs: z.number().int().min(0).max(3_600_000).default(30_000),
        /** This node delivers no more while this many wait for their proof (the contract allows 512). */
        maxPending: z.number().int().min(1).max(MAX_PENDING_LEAVES).default(MAX_PENDING_LEAVES),
      })
      .strict()
      .default({}),
    submission: z
      .object({
        /** Requests closer than this to their deadline are not attempted: the answer would land late. */
        deadlineMarginSeconds: z.number().int().min(0).default(30),
        /** A transaction unmined after this long is replaced with higher fees. */
        stuckAfterMs: z.number().int().min(100).default(20_000),
        /** Fee increase per replacement; nodes reject replacements under +10%. */
        feeBumpPercent: z.number().int().min(10).max(1_000).default(20),
        /** Cap on maxFeePerGas, in wei; the node never bids above it. */
        maxFeePerGas: z.coerce
          .bigint()
          .positive()
          .default(500n * 10n ** 9n),
      })
      .strict()
      .default({}),
    /** For quorum models: where this node takes other operators' co-signing requests, and how it asks. */
    cosigning: z
      .object({
        host: z.string().min(1).default("127.0.0.1"),
        /** 0 picks a free port. */
        port: z.number().int().min(0).max(65_535).default(9465),
        /**
         * Where other operators reach this node (published onchain at start, setOperatorEndpoint);
         * omitted: none is published, and this node co-signs for nobody.
         */
        publicUrl: url
          .refine((value) => {
            try {
              return cosignUrlOf(value) !== undefined;
            } catch {
              return false;
            }
          }, "must be a plain http(s) URL: no credentials, query or fragment (peers refuse those)")
          .optional(),
        /**
         * How long one round of asking peers may take, retries included (a peer runs the model first);
         * also how long this node works on a peer's request.
         */
        requestTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
        /** The most bytes a peer's reply may have (one is a few hundred); a longer one is cut off. */
        maxReplyBytes: z.number().int().min(1_024).max(1_048_576).default(16_384),
        /**
         * Call peers whose endpoints are loopback or private addresses: for a devnet, or operators on
         * one private network. Off, a published endpoint that resolves to one is never called.
         */
        allowPrivatePeers: z.boolean().default(false),
        /** Pause before asking peers again for a request that did not get enough signatures. */
        retryAfterMs: z.number().int().min(10).max(600_000).default(2_000),
        /**
         * Seconds before its exclusive window ends at which a quorum request still short of
         * co-signatures is delivered as NoConsensus (never before halfway through the window, when the
         * coordinator first takes one without evidence), so the assignee is never late for it.
         */
        noConsensusMarginSeconds: z.number().int().min(0).default(20),
      })
      .strict()
      .default({}),
    api: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().min(1).default("127.0.0.1"),
        port: z.number().int().min(0).max(65_535).default(9464),
      })
      .strict()
      .default({}),
    log: z
      .object({
        level: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
        format: z.enum(["auto", "json", "pretty"]).default("auto"),
      })
      .strict()
      .default({}),
  })
  .strict();

export type NodeConfig = Readonly<z.infer<typeof configSchema>>;
export type NodeConfigInput = z.input<typeof configSchema>;

export class ConfigError extends SibylError {
  override name = "ConfigError";
}

/**
 * Environment overrides for what differs between machines, so one config file serves every deployment:
 * SIBYL_RPC_URL, SIBYL_COORDINATOR, SIBYL_DEPLOYMENT_BLOCK, SIBYL_DATABASE, SIBYL_STORE_URL (a postgres://
 * URL), SIBYL_API_PORT, SIBYL_LOG_LEVEL.
 */
const ENV_OVERRIDES: Record<string, { path: string[]; parse?: (value: string) => unknown }> = {
  SIBYL_RPC_URL: { path: ["chain", "rpcUrl"] },
  SIBYL_COORDINATOR: { path: ["chain", "coordinator"] },
  SIBYL_DEPLOYMENT_BLOCK: { path: ["chain", "deploymentBlock"] },
  SIBYL_DATABASE: { path: ["database", "path"] },
  SIBYL_STORE_URL: { path: ["store"], parse: (url) => ({ kind: "postgres", url }) },
  SIBYL_API_PORT: { path: ["api", "port"], parse: Number },
  SIBYL_LOG_LEVEL: { path: ["log", "level"] },
};

/** Validates `input`; throws a ConfigError naming the first bad field (and listing every other). */
export function parseConfig(input: unknown, env: NodeJS.ProcessEnv = {}): NodeConfig {
  const merged = withEnvOverrides(input, env);
  const result = configSchema.safeParse(merged);
  if (result.success) return Object.freeze(result.data);
  const problems = issueLines(result.error);
  throw new ConfigError(`invalid config: ${problems[0]}`, { details: problems.join("; ") });
}

/** Reads a JSON config file and validates it with the environment's overrides. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`cannot read config file ${file}`, { cause: error });
  }
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config file ${file} is not valid JSON`, { cause: error });
  }
  const config = parseConfig(input, env);
  // A relative path in the file (database, keystore) belongs next to it, not wherever the node started.
  const besideConfig = (relative: string) => path.resolve(path.dirname(file), relative);
  const store =
    config.store?.kind === "sqlite"
      ? { ...config.store, path: besideConfig(config.store.path) }
      : config.store;
  const { keystore } = config.operator;
  const operator = keystore
    ? {
        ...config.operator,
        keystore: {
          ...keystore,
          path: besideConfig(keystore.path),
          ...(keystore.passwordFile === undefined
            ? {}
            : { passwordFile: besideConfig(keystore.passwordFile) }),
        },
      }
    : config.operator;
  return Object.freeze({
    ...config,
    operator,
    database: { path: besideConfig(config.database.path) },
    store,
  });
}

export type StoreSpec = { kind: "sqlite"; path: string } | { kind: "postgres"; url: string; leaseMs: number };

/** The store the node uses: `store` when given, else SQLite at `database.path`. */
export function storeSpecOf(config: NodeConfig): StoreSpec {
  return config.store ?? { kind: "sqlite", path: config.database.path };
}

function withEnvOverrides(input: unknown, env: NodeJS.ProcessEnv): unknown {
  if (typeof input !== "object" || input === null) return input;
  const merged = structuredClone(input) as Record<string, unknown>;
  for (const [name, { path: fieldPath, parse }] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value === undefined || value === "") continue;
    let target = merged;
    for (const key of fieldPath.slice(0, -1)) {
      const next = target[key];
      target[key] = typeof next === "object" && next !== null ? next : {};
      target = target[key] as Record<string, unknown>;
    }
    target[fieldPath[fieldPath.length - 1] as string] = parse ? parse(value) : value;
  }
  return merged;
}
