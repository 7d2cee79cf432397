import assert from "node:assert/strict";
import { describe, it } from "mocha";
import { HttpRequestError } from "viem";
import { errorCategory } from "../../../src/node/observe/errorCategory.js";
import { redact, redactDeep, redactUrl } from "../../../src/node/observe/redact.js";

const SECRET = "SECRETKEY123abcdef";

describe("redact", () => {
  const cases: [string, string, string][] = [
    [
      "an RPC URL with the key in its path",
      `POST https://eth.example/v2/${SECRET} failed`,
      "POST https://eth.example failed",
    ],
    [
      "an Infura-style /v3/ URL with a port",
      `URL: http://127.0.0.1:8545/v3/${SECRET}`,
      "URL: http://127.0.0.1:8545",
    ],
    ["a query key", `https://rpc.example/?apikey=${SECRET}&x=1`, "https://rpc.example"],
    ["credentials in the URL", `wss://user:${SECRET}@node.example/ws`, "wss://node.example"],
    ["a bearer token", `authorization: Bearer ${SECRET}`, "authorization: Bearer <redacted>"],
    ["a bare bearer token", `sent Bearer ${SECRET} upstream`, "sent Bearer <redacted> upstream"],
    [
      "an OpenAI key",
      `Incorrect API key provided: sk-proj-${SECRET}.`,
      "Incorrect API key provided: <redacted>.",
    ],
    [
      "key= outside a URL",
      `config apikey=${SECRET} token: ${SECRET}`,
      "config apikey=<redacted> token: <redacted>",
    ],
    ["a /v2/ path without a host", `GET /v2/${SECRET} 401`, "GET /v2/<redacted> 401"],
  ];
  for (const [label, text, expected] of cases) {
    it(`hides ${label}`, () => {
      assert.equal(redact(text), expected);
      assert.ok(!redact(text).includes(SECRET));
    });
  }

  it("keeps what is not secret: plain words, addresses, hashes, file: stack frames", () => {
    const text =
      "model gpt-4o: authentication failed; tx 0x" +
      "ab".repeat(32) +
      " from 0x00000000000000000000000000000000000000aa at file:///work/src/node/daemon.ts:12:3";
    assert.equal(redact(text), text);
  });

  it("cuts a URL to scheme and host, or to <url> when it does not parse", () => {
    assert.equal(redactUrl(`https://eth.example:443/v2/${SECRET}?k=1#x`), "https://eth.example");
    assert.equal(redactUrl("not a url"), "<url>");
  });

  it("redacts every string of an object, errors and their causes included", () => {
    const cause = new Error(`connect to https://gpu.corp.example/v1?key=${SECRET}`);
    const error = new Error(`model call to https://gpu.corp.example/v1/${SECRET} failed`, { cause });
    const copy = redactDeep({ nested: { list: [`Bearer ${SECRET}`] }, err: error, count: 3 });
    const text = JSON.stringify(copy);
    assert.ok(!text.includes(SECRET), text);
    assert.match(text, /https:\/\/gpu\.corp\.example/);
    assert.equal((copy as { count: number }).count, 3);
  });

  it("survives cycles", () => {
    const looped: Record<string, unknown> = { url: `http://x.example/v2/${SECRET}` };
    looped.self = looped;
    assert.ok(!JSON.stringify(redactDeep(looped)).includes(SECRET));
  });
});

describe("errorCategory", () => {
  it("names a viem RPC failure without its URL", () => {
    const error = new HttpRequestError({ url: `https://eth.example/v2/${SECRET}`, details: "fetch failed" });
    assert.ok(error.message.includes(SECRET), "viem quotes the URL (the reason for all this)");
    assert.equal(errorCategory(error), "rpc unreachable");
    assert.equal(errorCategory(new Error("wrapped", { cause: error })), "rpc unreachable");
  });

  it("names other errors by class, never by message", () => {
    class StoreBrokeError extends Error {
      override name = "StoreBrokeError";
    }
    assert.equal(
      errorCategory(new StoreBrokeError(`at https://x.example/v2/${SECRET}`)),
      "unexpected StoreBrokeError",
    );
    assert.equal(errorCategory(new Error(SECRET)), "unexpected error");
    assert.equal(errorCategory(SECRET), "unexpected error");
  });
});
