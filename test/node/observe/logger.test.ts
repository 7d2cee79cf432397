import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "mocha";
import { createLogger, type LoggerOptions } from "../../../src/node/observe/logger.js";
import { SibylError } from "../../../src/shared/errors.js";

const PRIVATE_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

/** A logger writing into memory; `written` settles once the first line has arrived. */
function capturedLogger(format: LoggerOptions["format"]) {
  let output = "";
  let firstWrite: () => void = () => {};
  const written = new Promise<void>((resolve) => {
    firstWrite = resolve;
  });
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      output += String(chunk);
      firstWrite();
      callback();
    },
  });
  const logger = createLogger({ level: "debug", format, destination });
  return { logger, written, output: () => output };
}

function secretsInEveryPlace() {
  return {
    privateKey: PRIVATE_KEY,
    signer: { privateKey: PRIVATE_KEY, address: "0x00000000000000000000000000000000000000aa" },
    config: { operator: { privateKey: PRIVATE_KEY, keystorePassword: PRIVATE_KEY }, model: "llama-3.2-1b" },
    provider: { apiKey: PRIVATE_KEY, password: PRIVATE_KEY },
    rpc: { headers: { authorization: `Bearer ${PRIVATE_KEY}` } },
  };
}

describe("createLogger", () => {
  it("censors secrets at every configured path and keeps the other fields", () => {
    const { logger, output } = capturedLogger("json");
    logger.info(secretsInEveryPlace(), "operator loaded");

    assert.ok(!output().includes(PRIVATE_KEY.slice(2)), output());
    const entry = JSON.parse(output());
    assert.equal(entry.msg, "operator loaded");
    assert.equal(entry.privateKey, "[redacted]");
    assert.equal(entry.config.operator.privateKey, "[redacted]");
    assert.equal(entry.config.model, "llama-3.2-1b");
    assert.equal(entry.signer.address, "0x00000000000000000000000000000000000000aa");
    assert.equal(entry.rpc.headers.authorization, "[redacted]");
  });

  it("censors secrets in child-logger bindings", () => {
    const { logger, output } = capturedLogger("json");
    logger.child({ operator: { privateKey: PRIVATE_KEY } }).info("child");

    assert.ok(!output().includes(PRIVATE_KEY.slice(2)), output());
    assert.equal(JSON.parse(output()).msg, "child");
  });

  it("censors secrets in pretty output too", async () => {
    const { logger, written, output } = capturedLogger("pretty");
    logger.info(secretsInEveryPlace(), "operator loaded");
    await written;

    assert.ok(output().includes("operator loaded"), output());
    assert.ok(output().includes("llama-3.2-1b"), output());
    assert.ok(!output().includes(PRIVATE_KEY.slice(2)), output());
    assert.throws(() => JSON.parse(output()), "pretty output should not be JSON");
  });

  it("serializes a SibylError with its short message, details and retry tag", () => {
    const { logger, output } = capturedLogger("json");
    const cause = new Error("connect ECONNREFUSED 127.0.0.1:8545");
    logger.error({ err: new SibylError("rpc unreachable", { cause, retryable: true }) }, "poll failed");

    const { err } = JSON.parse(output());
    assert.equal(err.name, "SibylError");
    assert.equal(err.shortMessage, "rpc unreachable");
    assert.equal(err.details, "connect ECONNREFUSED 127.0.0.1:8545");
    assert.equal(err.retryable, true);
    assert.match(err.message, /^rpc unreachable/);
    assert.match(err.stack, /SibylError: rpc unreachable/);
  });

  it("serializes short messages that an error class exposes as getters", () => {
    class GetterError extends Error {
      override name = "GetterError";
      get shortMessage() {
        return "execution reverted";
      }
    }
    const { logger, output } = capturedLogger("json");
    logger.error({ err: new GetterError("execution reverted: BatchFull()") }, "submit failed");

    const { err } = JSON.parse(output());
    assert.equal(err.name, "GetterError");
    assert.equal(err.shortMessage, "execution reverted");
    assert.equal(err.message, "execution reverted: BatchFull()");
  });

  it("logs a value under err that is not an error as it is", () => {
    const { logger, output } = capturedLogger("json");
    logger.warn({ err: "timeout" }, "odd failure");

    assert.equal(JSON.parse(output()).err, "timeout");
  });
});

describe("createLogger redaction of URLs, keys and tokens", () => {
  const RPC_KEY = "SECRETKEY123abcdef";

  it("cuts URLs and tokens out of messages, fields and errors (with causes) under any key", () => {
    const { logger, output } = capturedLogger("json");
    const cause = new Error(`HTTP request failed. URL: https://eth.example/v2/${RPC_KEY}`);
    const error = new SibylError("poll failed", { cause });
    logger.error(
      {
        err: error,
        failure: cause,
        rpc: `https://eth.example/v2/${RPC_KEY}`,
        headers: [`Bearer ${RPC_KEY}`],
      },
      `listener error at https://eth.example/v2/${RPC_KEY}`,
    );
    logger.warn(cause);
    const text = output();
    assert.ok(!text.includes(RPC_KEY), text);
    const [first, second] = text
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    assert.equal(first.msg, "listener error at https://eth.example");
    assert.equal(first.rpc, "https://eth.example");
    assert.equal(first.err.shortMessage, "poll failed");
    assert.match(first.err.details, /URL: https:\/\/eth\.example$/);
    assert.equal(second.msg, "HTTP request failed. URL: https://eth.example");
  });

  it("redacts in pretty output too", async () => {
    const { logger, written, output } = capturedLogger("pretty");
    logger.error({ err: new Error(`key sk-live-${RPC_KEY}`) }, `at https://eth.example/v2/${RPC_KEY}`);
    await written;
    assert.ok(output().includes("https://eth.example"), output());
    assert.ok(!output().includes(RPC_KEY), output());
  });
});
