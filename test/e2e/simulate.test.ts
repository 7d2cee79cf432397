/**
 * `sibyl simulate` as a developer trying a model uses it: a process with no chain anywhere (no RPC,
 * no deployment, an empty state directory), the built-in model by name, an OpenAI-compatible model
 * by spec against a local server speaking the real API, a node config's model by name, and every
 * mistake answered with one line.
 */
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { configHashOf } from "../../src/node/models/configHash.js";
import { createProvider, type ModelSpecInput, parseModelSpec } from "../../src/node/models/registry.js";
import { FakeOpenAIServer } from "../helpers/openaiServer.js";
import { runSibyl } from "../helpers/processes.js";

const ONE_LINE_ERROR = /^sibyl: [^\n]+\n$/;

/** The fields `sibyl simulate` prints, by label. */
function fields(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .trimEnd()
      .split("\n")
      .map((line) => [line.slice(0, 10).trim(), line.slice(10)]),
  );
}

describe("sibyl simulate (a process, no chain)", function () {
  this.timeout(120_000);
  let env: NodeJS.ProcessEnv;
  let dir: string;
  let fake: FakeOpenAIServer;
  let server: { url: string; close(): Promise<void> };
  let chatSpec: ModelSpecInput;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "sibyl-simulate-"));
    // Nothing to find a chain with: no deployment record, no RPC variables.
    env = { SIBYL_STATE_DIR: path.join(dir, "state"), SIBYL_RPC_URL: "", OPENAI_API_KEY: "" };
    fake = new FakeOpenAIServer({ answer: () => "Yes." });
    server = await fake.start();
    chatSpec = {
      provider: "openai",
      name: "yes-no",
      model: "judge-1",
      baseURL: server.url,
      apiKeyEnv: null,
      answer: { kind: "yes-no" },
    };
  });

  after(async () => {
    await server?.close();
  });

  it("runs the built-in model by name and prints output, status, metadata and the config hash", async () => {
    const run = await runSibyl(["simulate", "language-id", "Il fait très beau aujourd'hui."], env);
    assert.equal(run.code, 0, run.stderr);
    const shown = fields(run.stdout);
    assert.equal(shown.model, "language-id (builtin)");
    assert.equal(shown.status, "Ok");
    assert.match(shown.output ?? "", /^fr 0\.\d{4}$/);
    const metadata = JSON.parse(shown.metadata ?? "");
    assert.equal(metadata.provider, "builtin");
    assert.equal(metadata.params.model, "lid.176");
    const spec = parseModelSpec({ provider: "builtin", name: "language-id", builtin: "language-id" });
    assert.equal(shown.config, configHashOf(createProvider(spec)), "the hash a node checks the registry for");
  });

  it("runs a spec against an OpenAI-compatible server, its answer normalized by the constraint", async () => {
    const run = await runSibyl(
      ["simulate", "--spec", JSON.stringify(chatSpec), "--json", "Is water wet?"],
      env,
    );
    assert.equal(run.code, 0, run.stderr);
    const printed = JSON.parse(run.stdout);
    assert.equal(printed.status, "Ok");
    assert.equal(
      printed.output,
      "yes",
      "the committed answer is the constraint's form, not the model's words",
    );
    assert.equal(printed.metadata.version, "judge-1-0001", "the version the server reported");
    assert.equal(printed.configHash, configHashOf(createProvider(parseModelSpec(chatSpec))));
    const asked = fake.requests.at(-1)?.body as { messages: { content: string }[] };
    assert.equal(asked.messages.at(-1)?.content, "Is water wet?");
  });

  it("finds a model by name in a node config, and reads a spec from a file", async () => {
    const config = path.join(dir, "node.json");
    await writeFile(
      config,
      JSON.stringify({
        chain: { rpcUrl: "http://127.0.0.1:1", coordinator: `0x${"11".repeat(20)}` },
        models: [chatSpec],
      }),
    );
    const byName = await runSibyl(["simulate", "yes-no", "--node-config", config, "Is fire cold?"], env);
    assert.equal(byName.code, 0, byName.stderr);
    assert.equal(fields(byName.stdout).output, "yes");
    const specFile = path.join(dir, "spec.json");
    await writeFile(specFile, JSON.stringify(chatSpec));
    const fromFile = await runSibyl(["simulate", "--spec", `@${specFile}`, "Is ice cold?"], env);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.equal(fields(fromFile.stdout).model, "yes-no (openai)");
  });

  it("shows the error status a request would get, with the fixed reason committed onchain", async () => {
    const run = await runSibyl(
      ["simulate", "language-id", "The weather is lovely today.", "--max-output-bytes", "4"],
      env,
    );
    assert.equal(run.code, 0, run.stderr);
    const shown = fields(run.stdout);
    assert.equal(shown.status, "OutputTooLarge");
    // The fixed reason, cut to the request's limit as it would be delivered.
    assert.equal(shown.output, "outp");
    assert.equal(JSON.parse(shown.metadata ?? "").error, "outp");
    assert.match(shown.detail ?? "", /over the limit of 4/, "the provider's side of it, for the developer");
  });

  describe("mistakes: one line, non-zero exit, no stack trace", () => {
    const cases: Array<[string, () => string[], RegExp, number]> = [
      [
        "a typo in a spec's field, named by its path",
        () => ["simulate", "--spec", JSON.stringify({ ...chatSpec, baseUrl: server.url }), "hi"],
        /^sibyl: invalid spec: Unrecognized key\(s\) in object: 'baseUrl'$/m,
        1,
      ],
      [
        "a bad value, named by its field",
        () => ["simulate", "--spec", JSON.stringify({ ...chatSpec, temperature: 7 }), "hi"],
        /^sibyl: invalid spec\.temperature: /m,
        1,
      ],
      ["a spec that is not JSON", () => ["simulate", "--spec", "{provider:", "hi"], /--spec: not JSON/, 1],
      [
        "an unknown model name",
        () => ["simulate", "gpt-9", "hi"],
        /unknown model "gpt-9": the built-in models are language-id/,
        1,
      ],
      [
        "a server that is down",
        () => [
          "simulate",
          "--spec",
          JSON.stringify({ ...chatSpec, baseURL: "http://127.0.0.1:1/v1", maxAttempts: 1 }),
          "hi",
        ],
        /model "yes-no" did not answer: server unreachable/,
        1,
      ],
      ["no input", () => ["simulate", "language-id"], /sibyl simulate takes a model name and an input/, 2],
      [
        "a node config with a typo in a model spec, named by its path (sibyl node reads it the same way)",
        () => ["simulate", "yes-no", "--node-config", path.join(dir, "typo.json"), "hi"],
        /^sibyl: invalid config: models\.0: Unrecognized key\(s\) in object: 'baseUrl'$/m,
        1,
      ],
      [
        "sibyl node with the same config",
        () => ["node", "--config", path.join(dir, "typo.json")],
        /^sibyl: invalid config: models\.0: Unrecognized key\(s\) in object: 'baseUrl'$/m,
        1,
      ],
    ];
    before(async () => {
      const { baseURL, ...spec } = chatSpec as { baseURL: string };
      await writeFile(
        path.join(dir, "typo.json"),
        JSON.stringify({
          chain: { rpcUrl: "http://127.0.0.1:1", coordinator: `0x${"11".repeat(20)}` },
          models: [{ ...spec, baseUrl: baseURL }],
        }),
      );
    });

    for (const [what, args, message, code] of cases) {
      it(what, async () => {
        const run = await runSibyl(args(), env);
        assert.equal(run.code, code, run.stderr);
        if (code === 1) assert.match(run.stderr, ONE_LINE_ERROR);
        assert.match(run.stderr, message);
      });
    }
  });
});
