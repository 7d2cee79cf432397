/**
 * How soon a waiting dapp sees its answer, with no polling option given: a viem client polls every 4 s
 * by default (made for watching blocks), yet waitForResult must notice a delivery within a second; the
 * ethers adapter takes the same option name. The loop's pauses are read as it asks for them, so the
 * test needs no clock.
 */
import assert from "node:assert/strict";
import { BrowserProvider, type Eip1193Provider } from "ethers";
import { network } from "hardhat";
import { createPublicClient, custom } from "viem";
import * as ethersSibyl from "../../src/ethers/index.js";
import { mockSibyl, type SibylMock } from "../../src/hardhat/index.js";
import { ResultStatus, requestInference, waitForResult } from "../../src/sdk/index.js";

type Connection = Awaited<ReturnType<typeof network.create>>;

/**
 * Records every pause the wait loop (pollForResult, in waiting.ts) takes while `run` runs: it pauses
 * with setTimeout between polls, and only the calls made from its own file are counted.
 */
async function loopPauses<T>(run: (pauses: number[]) => Promise<T>): Promise<{ value: T; pauses: number[] }> {
  const original = globalThis.setTimeout;
  const pauses: number[] = [];
  globalThis.setTimeout = ((handler: () => void, ms?: number, ...rest: unknown[]) => {
    // The frame that called setTimeout: the loop's own pause, not a timer of a client it calls.
    const caller = new Error().stack?.split("\n")[2] ?? "";
    if (/[/\\]sdk[/\\]waiting\.[jt]s:/.test(caller)) pauses.push(ms ?? 0);
    return Reflect.apply(original, globalThis, [handler, ms, ...rest]);
  }) as typeof setTimeout;
  try {
    return { value: await run(pauses), pauses };
  } finally {
    globalThis.setTimeout = original;
  }
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}

describe("sdk waiting defaults: a delivery is seen within a second", () => {
  let connection: Connection;
  let sibyl: SibylMock;

  before(async () => {
    connection = await network.create();
    sibyl = await mockSibyl(connection);
  });

  after(async () => {
    await connection?.close();
  });

  async function ask(input: string): Promise<bigint> {
    const [, , , user] = await connection.viem.getWalletClients();
    assert.ok(user);
    return (await requestInference(user, { coordinator: sibyl.coordinator, model: "language-id", input }))
      .requestId;
  }

  it("waitForResult on a client left at viem's 4 s polls at most every second", async () => {
    const client = createPublicClient({ transport: custom(connection.provider) });
    assert.equal(client.pollingInterval, 4_000, "viem's default for a client without a chain");
    const requestId = await ask("Guten Morgen");
    const { value: result, pauses } = await loopPauses(async (pauses) => {
      const waiting = waitForResult(client, { coordinator: sibyl.coordinator, requestId, timeoutMs: 30_000 });
      // Answer only once the wait has polled and found nothing: it must come back for the answer.
      await until(() => pauses.length > 0);
      await sibyl.fulfill(requestId, { output: "de 0.9000" });
      return waiting;
    });
    assert.equal(result.status, ResultStatus.Ok);
    assert.equal(result.outputText, "de 0.9000");
    assert.ok(pauses.length > 0);
    assert.ok(Math.max(...pauses) <= 1_000, `pauses between polls: ${pauses.join(", ")} ms`);
  });

  it("the ethers adapter takes the viem option's name, pollingInterval", async () => {
    const provider = new BrowserProvider(connection.provider as Eip1193Provider);
    const requestId = await ask("Buenos días");
    const { value: result, pauses } = await loopPauses(async (pauses) => {
      const waiting = ethersSibyl.waitForResult(provider, {
        coordinator: sibyl.coordinator,
        requestId,
        timeoutMs: 30_000,
        pollingInterval: 50,
      });
      await until(() => pauses.length > 0);
      await sibyl.fulfill(requestId, { output: "es 0.9000" });
      return waiting;
    });
    provider.destroy();
    assert.equal(result.outputText, "es 0.9000");
    assert.ok(pauses.length > 0);
    assert.deepEqual([...new Set(pauses)], [50], `pauses between polls: ${pauses.join(", ")} ms`);
  });
});
