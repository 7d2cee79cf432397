/**
 * Requesters choose the input bytes, so no bytes may crash the node or get anything but a status:
 * invalid UTF-8, blank text, NUL bytes, megabytes of text, JSON-looking garbage and structured
 * `{"messages":...}` inputs of every wrong shape go through the real executor and providers (seeded,
 * so a failing input replays), then the nastiest through the whole deployment.
 */
import assert from "node:assert/strict";
import {
  BaseError,
  bytesToHex,
  ContractFunctionRevertedError,
  type Hex,
  hexToBytes,
  hexToString,
  stringToHex,
} from "viem";
import { LanguageIdProvider } from "../../src/node/models/builtin.js";
import { type ExecutionPolicy, executeModel, type ModelOutcome } from "../../src/node/models/executor.js";
import { OpenAIProvider } from "../../src/node/models/openai.js";
import type { ModelProvider } from "../../src/node/models/provider.js";
import { modelIdFromName, ResultStatus } from "../../src/shared/encoding.js";
import { type Devnet, sendRequests, startDevnet } from "../helpers/devnet.js";
import { FakeOpenAIServer } from "../helpers/openaiServer.js";
import type { ChildRun } from "../helpers/processes.js";
import { seededRandom } from "../helpers/random.js";
import { quoteEscrow } from "../helpers/sibyl.js";
import { settle } from "./harness.js";

const policy: ExecutionPolicy = {
  timeoutMs: 10_000,
  maxAttempts: 2,
  baseBackoffMs: 10,
  maxBackoffMs: 50,
  maxOutputBytes: 1024,
};
const STATUSES = new Set<number>(Object.values(ResultStatus));
const LANGUAGE = /^[a-z]{2,3} (0\.\d{4}|1\.0000)$/;
const MAX_REASON_BYTES = 200;

type Random = () => number;

interface Case {
  label: string;
  bytes: Uint8Array;
  /** For `{"messages":...}` inputs: whether the shape is the documented one. */
  structured?: { valid: true; lastUser: string } | { valid: false };
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/** The input as text, or undefined when the bytes are not UTF-8. */
function utf8(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

const int = (random: Random, below: number) => Math.floor(random() * below);
const pick = <T>(random: Random, items: readonly T[]): T => items[int(random, items.length)] as T;

const WHITESPACE = [" ", "\t", "\n", "\r", "\v", "\f", "\u00a0", "\u1680", "\u2003", "\u2028", "\u2029"];
const CHARACTER_POOLS: ReadonlyArray<() => string> = [
  () => "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,;:!?'\"-()",
  () => "éèçàùœßäöüñ¿¡ ЖжЯяПривет мир αβγδ Ελληνικά",
  () => "中文日本語한국어 ไทย हिन्दी العربية עברית",
  () => "😀🎉🚀👩‍💻🏳️‍🌈\u200d\u200b\ufeff\u0301\u0308",
  () => "\u0000\u0001\u0007\u001b\u007f\u0085",
  () => WHITESPACE.join(""),
  () => '{}[]:,"\\/',
];

function randomText(random: Random, length: number): string {
  let text = "";
  for (let i = 0; i < length; i++) text += pick(random, [...pick(random, CHARACTER_POOLS)()]);
  return text;
}

function randomBytes(random: Random, length: number): Uint8Array {
  return Uint8Array.from({ length }, () => int(random, 256));
}

/** Byte sequences no UTF-8 decoder may accept: overlong, surrogates, past U+10FFFF, cut short. */
const INVALID_SEQUENCES = [
  [0x80],
  [0xbf, 0xbf],
  [0xc0, 0xaf],
  [0xc1, 0xbf],
  [0xe0, 0x80, 0x80],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf5, 0x80, 0x80, 0x80],
  [0xfe],
  [0xff],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
  [0xc3],
];

function withInvalidSequence(random: Random): Uint8Array {
  const before = encoder.encode(randomText(random, int(random, 40)));
  const after = encoder.encode(randomText(random, int(random, 40)));
  return Uint8Array.from([...before, ...pick(random, INVALID_SEQUENCES), ...after]);
}

const JSON_TOKENS = [
  "{",
  "}",
  "[",
  "]",
  ":",
  ",",
  '"',
  '"messages"',
  '"role"',
  '"content"',
  '"user"',
  "null",
  "true",
  "1e999",
  "-0",
  "\\u0000",
  "\\ud800",
  " ",
  "\n",
];

function jsonGarbage(random: Random): string {
  const tokens = Array.from({ length: 1 + int(random, 30) }, () => pick(random, JSON_TOKENS));
  return (random() < 0.7 ? "{" : "") + tokens.join("");
}

const ROLES = ["system", "user", "assistant"] as const;

/** A `{"messages":...}` input, of the documented shape or one of its wrong ones. */
function messagesInput(random: Random): Case {
  const message = () => ({ role: pick(random, ROLES), content: randomText(random, int(random, 20)) });
  const messages = Array.from({ length: 1 + int(random, 5) }, message);
  const lastUser = messages.findLast((m) => m.role === "user")?.content ?? "";
  const indent = pick(random, ["", " ", "\n\t ", "\r\n"]);
  const valid = (json: unknown): Case => ({
    label: "messages",
    bytes: encoder.encode(indent + JSON.stringify(json)),
    structured: { valid: true, lastUser },
  });
  const invalid = (label: string, text: string): Case => ({
    label,
    bytes: encoder.encode(indent + text),
    structured: { valid: false },
  });
  switch (int(random, 14)) {
    case 0:
    case 1:
    case 2:
      return valid({ messages });
    case 3:
      return invalid("messages: string", JSON.stringify({ messages: "hello" }));
    case 4:
      return invalid("messages: []", JSON.stringify({ messages: [] }));
    case 5:
      return invalid("messages: null", JSON.stringify({ messages: null }));
    case 6:
      return invalid("role: tool", JSON.stringify({ messages: [{ role: "tool", content: "x" }] }));
    case 7:
      return invalid("no content", JSON.stringify({ messages: [{ role: "user" }] }));
    case 8:
      return invalid("content: number", JSON.stringify({ messages: [{ role: "user", content: 5 }] }));
    case 9:
      return invalid("extra message key", JSON.stringify({ messages: [{ ...message(), name: "n" }] }));
    case 10:
      return invalid("extra top-level key", JSON.stringify({ messages, temperature: 2 }));
    case 11:
      return invalid("65 messages", JSON.stringify({ messages: Array.from({ length: 65 }, message) }));
    case 12:
      return invalid("cut short", JSON.stringify({ messages }).slice(0, -1 - int(random, 10)));
    default:
      return invalid("Messages", JSON.stringify({ Messages: messages }));
  }
}

/** One random input; `huge` allows megabyte inputs (too slow to send to a server by the hundred). */
function randomCase(random: Random, huge: boolean): Case {
  const roll = random();
  if (roll < 0.2) return { label: "random bytes", bytes: randomBytes(random, int(random, 300)) };
  if (roll < 0.4) return { label: "random text", bytes: encoder.encode(randomText(random, int(random, 80))) };
  if (roll < 0.5) {
    const blank = Array.from({ length: 1 + int(random, 30) }, () => pick(random, WHITESPACE)).join("");
    return { label: "whitespace", bytes: encoder.encode(blank) };
  }
  if (roll < 0.65) return { label: "invalid UTF-8 in text", bytes: withInvalidSequence(random) };
  if (roll < 0.75) return { label: "JSON garbage", bytes: encoder.encode(jsonGarbage(random)) };
  if (roll < 0.9) return messagesInput(random);
  if (roll < 0.95) {
    const nul = "\u0000".repeat(1 + int(random, 64));
    return { label: "NUL bytes", bytes: encoder.encode(random() < 0.5 ? nul : `hello${nul}world`) };
  }
  if (roll < 0.97) return { label: "empty", bytes: new Uint8Array() };
  const length = huge ? 65_536 + int(random, 600_000) : 1_025 + int(random, 16_000);
  const bytes =
    random() < 0.5 ? randomBytes(random, length) : encoder.encode("the quick brown fox ".repeat(length / 20));
  return { label: huge ? "huge" : "long", bytes };
}

/** Runs every case through executeModel, a few at a time; never lets a throw escape unrecorded. */
async function runAll(provider: ModelProvider, cases: Case[], parallel: number) {
  const outcomes: Array<{ item: Case; outcome?: ModelOutcome; thrown?: unknown }> = [];
  for (let start = 0; start < cases.length; start += parallel) {
    const slice = cases.slice(start, start + parallel);
    const settled = await Promise.allSettled(
      slice.map((item) => executeModel(provider, item.bytes, policy, new AbortController().signal)),
    );
    for (const [index, result] of settled.entries()) {
      const item = slice[index] as Case;
      outcomes.push(
        result.status === "fulfilled" ? { item, outcome: result.value } : { item, thrown: result.reason },
      );
    }
  }
  return outcomes;
}

function describeCase(item: Case): string {
  const hex = bytesToHex(item.bytes);
  return `${item.label} (${item.bytes.length} bytes) ${hex.length > 200 ? `${hex.slice(0, 200)}…` : hex}`;
}

/** Checks what every outcome owes: a known status, and for errors a non-empty reason of at most 200 bytes. */
function assertWellFormed(item: Case, outcome: ModelOutcome | undefined, thrown: unknown): ModelOutcome {
  assert.equal(thrown, undefined, `threw on ${describeCase(item)}: ${thrown}`);
  assert.ok(outcome, describeCase(item));
  assert.ok(STATUSES.has(outcome.status), `status ${outcome.status} for ${describeCase(item)}`);
  if (outcome.status !== ResultStatus.Ok) {
    const bytes = encoder.encode(outcome.output).length;
    assert.ok(bytes > 0 && bytes <= MAX_REASON_BYTES, `reason "${outcome.output}" for ${describeCase(item)}`);
  }
  return outcome;
}

describe("reliability: any input bytes, no crash", function () {
  this.timeout(300_000);

  describe("through executeModel and the real providers", () => {
    it("the built-in language identifier answers 3000 random inputs: InvalidInput or a language", async () => {
      const random = seededRandom(0x5eed_f022);
      const cases = Array.from({ length: 3000 }, () => randomCase(random, true));
      const provider = new LanguageIdProvider({ name: "language-id" });
      await provider.start();
      try {
        const counts = new Map<string, number>();
        for (const { item, outcome, thrown } of await runAll(provider, cases, 8)) {
          const { status, output } = assertWellFormed(item, outcome, thrown);
          const text = utf8(item.bytes);
          const invalid = text === undefined || text.trim() === "";
          if (invalid) {
            assert.equal(status, ResultStatus.InvalidInput, describeCase(item));
            assert.equal(output, text === undefined ? "invalid input: not UTF-8" : "invalid input: no text");
          } else {
            assert.equal(status, ResultStatus.Ok, `${output} for ${describeCase(item)}`);
            assert.match(output, LANGUAGE, describeCase(item));
          }
          const key = invalid ? "InvalidInput" : "Ok";
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        // The corpus must really cover both sides, or the loop above proves little.
        assert.ok((counts.get("InvalidInput") ?? 0) > 600, JSON.stringify([...counts]));
        assert.ok((counts.get("Ok") ?? 0) > 1200, JSON.stringify([...counts]));
        assert.ok(cases.some((item) => item.bytes.length > 400_000));
      } finally {
        await provider.close();
      }
    });

    it("the OpenAI-protocol provider answers 300 random inputs over HTTP: each as documented", async () => {
      const server = new FakeOpenAIServer();
      const { url, close } = await server.start();
      const provider = new OpenAIProvider({
        name: "chat",
        model: "echo-1",
        baseURL: url,
        apiKey: "test-key",
        maxTokens: 64,
      });
      try {
        const random = seededRandom(0x0a1_f022);
        const cases = Array.from({ length: 300 }, () => randomCase(random, false));
        const seen = new Set<string>();
        let invalidInputs = 0;
        for (const { item, outcome, thrown } of await runAll(provider, cases, 16)) {
          const { status, output } = assertWellFormed(item, outcome, thrown);
          if (status === ResultStatus.InvalidInput) invalidInputs++;
          const text = utf8(item.bytes);
          const answered = (lastUser: string) => {
            const expected = `echo:${lastUser}`;
            if (encoder.encode(expected).length > policy.maxOutputBytes) {
              assert.equal(status, ResultStatus.OutputTooLarge, describeCase(item));
            } else {
              assert.equal(status, ResultStatus.Ok, `${output} for ${describeCase(item)}`);
              assert.equal(output, expected);
            }
          };
          if (text === undefined) {
            assert.equal(status, ResultStatus.InvalidInput, describeCase(item));
            seen.add("not UTF-8");
          } else if (item.structured?.valid === false) {
            assert.equal(status, ResultStatus.InvalidInput, `${output} for ${describeCase(item)}`);
            assert.equal(output, "invalid input: malformed messages");
            seen.add("wrong shape");
          } else if (item.structured?.valid) {
            answered(item.structured.lastUser);
            seen.add("messages");
          } else if (!text.trimStart().startsWith("{")) {
            answered(text);
            seen.add("plain text");
          } else {
            // Random text that happens to open with a brace: structured if it parses as such.
            assert.ok(
              status !== ResultStatus.ModelError && status !== ResultStatus.ModelTimeout,
              `${output} for ${describeCase(item)}`,
            );
          }
        }
        assert.deepEqual([...seen].sort(), ["messages", "not UTF-8", "plain text", "wrong shape"]);
        // Invalid input is the requester's fault, found before any call: the server saw only the rest.
        assert.equal(server.requests.length, cases.length - invalidInputs);
      } finally {
        await close();
      }
    });
  });

  describe("through the deployment: coordinator, daemon, built-in model", () => {
    const modelId = modelIdFromName("language-id");
    let devnet: Devnet;
    let node: ChildRun;

    before(async () => {
      devnet = await startDevnet([{ provider: "builtin", name: "language-id", builtin: "language-id" }]);
      node = devnet.startNode(await devnet.writeConfig({ batching: { maxSize: 16, maxWaitMs: 300 } }));
      await node.waitFor("sibyl node started", 120_000);
    });

    after(async () => {
      if (node) {
        const exit = await node.stop("SIGTERM");
        assert.equal(exit.code, 0, `node exit ${JSON.stringify(exit)}:\n${node.tail()}`);
      }
      await devnet?.stop();
    });

    it("answers nasty inputs with InvalidInput or a language, and keeps running", async () => {
      const random = seededRandom(0xbad_1);
      const nasty: Hex[] = [
        bytesToHex(Uint8Array.from([0xff, 0xfe, 0xfd])),
        bytesToHex(Uint8Array.from([0xc0, 0xaf])),
        bytesToHex(Uint8Array.from([0xed, 0xa0, 0x80])),
        bytesToHex(Uint8Array.from([0xf4, 0x90, 0x80, 0x80])),
        bytesToHex(Uint8Array.from([0x80, 0x81, 0x82])),
        bytesToHex(Uint8Array.from([...encoder.encode("price: 10"), 0xe2, 0x82])),
        stringToHex("     "),
        stringToHex(" \t\r\n\v\f"),
        stringToHex("\r\n\r\n"),
        stringToHex("\u00a0\u2028\u3000\ufeff"),
        "0x00",
        bytesToHex(new Uint8Array(256)),
        stringToHex("hello\u0000world, how are you today?"),
        bytesToHex(randomBytes(random, 4096)),
        bytesToHex(randomBytes(random, 1000)),
        stringToHex("the weather is lovely today ".repeat(147).slice(0, 4096)),
        stringToHex('{"messages":[{"role":"user","content":'),
        stringToHex('{"messages":[]}'),
        stringToHex("😀😀😀"),
        stringToHex("\ufeffBonjour tout le monde"),
        stringToHex("שָׁלוֹם עוֹלָם"),
        stringToHex("\u0001\u0002\u0003\u001b[31m"),
      ];
      assert.equal(hexToBytes(nasty[13] as Hex).length, 4096, "exactly maxInputBytes is accepted");
      const { publicClient, coordinator } = devnet.sibyl;
      const fromBlock = (await publicClient.getBlockNumber()) + 1n;
      const ids = await sendRequests(devnet, nasty.length, modelId, (i) => nasty[i] as Hex);
      const result = await settle(devnet, ids, fromBlock, 120_000);
      assert.equal(result.lost, 0, `${result.lost} of ${ids.length} unanswered:\n${node.tail()}`);
      assert.equal(result.doubleAnswered, 0);

      const requested = await coordinator.getEvents.InferenceRequested({ modelId }, { fromBlock });
      const inputs = new Map(
        requested.map((event) => [event.args.requestId as bigint, event.args.input as Hex]),
      );
      const statuses = new Set<number>();
      for (const id of ids) {
        const [delivery] = result.deliveries.get(id) ?? [];
        const input = inputs.get(id) as Hex;
        const text = utf8(hexToBytes(input));
        const output = hexToString(delivery?.output as Hex);
        const shown = `${input.slice(0, 80)}: ${delivery?.status} ${output}`;
        if (text === undefined) {
          assert.equal(delivery?.status, ResultStatus.InvalidInput, shown);
          assert.equal(output, "invalid input: not UTF-8", shown);
        } else if (text.trim() === "") {
          assert.equal(delivery?.status, ResultStatus.InvalidInput, shown);
          assert.equal(output, "invalid input: no text", shown);
        } else {
          assert.equal(delivery?.status, ResultStatus.Ok, shown);
          assert.match(output, LANGUAGE, shown);
        }
        statuses.add(delivery?.status as number);
      }
      assert.deepEqual([...statuses].sort(), [ResultStatus.Ok, ResultStatus.InvalidInput]);
      assert.ok(node.running, `the daemon stopped:\n${node.tail()}`);
      assert.doesNotMatch(node.text, /runner error|node failed/);
    });

    it("the coordinator itself refuses empty input and input over maxInputBytes, with named errors", async () => {
      const { coordinator, users } = devnet.sibyl;
      const user = users[0] as (typeof users)[number];
      const fee = await quoteEscrow(devnet.sibyl, modelId);
      const tooLarge = bytesToHex(new Uint8Array(4097).fill(0x61));
      const refusals: Array<[Hex, { errorName: string; args: unknown[] }]> = [
        ["0x", { errorName: "EmptyInput", args: [modelId] }],
        [tooLarge, { errorName: "InputTooLarge", args: [modelId, 4097n, 4096n] }],
      ];
      for (const [input, refusal] of refusals) {
        const args = [modelId, input, 0, user.account.address] as const;
        const simulated = coordinator.simulate.request(args, { account: user.account.address, value: fee });
        assert.deepEqual(await revertOf(simulated), refusal);
        const estimated = coordinator.estimateGas.request(args, { account: user.account, value: fee });
        assert.deepEqual(await revertOf(estimated), refusal);
      }
    });
  });
});

/** The custom error a contract call reverted with, decoded from the ABI. */
async function revertOf(call: Promise<unknown>): Promise<{ errorName: string; args: unknown[] } | undefined> {
  try {
    await call;
  } catch (error) {
    const reverted =
      error instanceof BaseError
        ? error.walk((cause) => cause instanceof ContractFunctionRevertedError)
        : null;
    if (reverted instanceof ContractFunctionRevertedError && reverted.data) {
      return { errorName: reverted.data.errorName, args: [...(reverted.data.args ?? [])] };
    }
    throw error;
  }
  return undefined;
}
