// The SDK from plain `node` (no Hardhat test runner, no TypeScript loader): compiled JavaScript only.
import assert from "node:assert/strict";
import { test } from "node:test";
import { network } from "hardhat";
import { getResult, ResultStatus, requestInference, verifyResult, waitForResult } from "sibyl";
import { mockSibyl } from "sibyl/hardhat";

test("request, answer, wait and verify with the SDK from plain node", async () => {
  const connection = await network.create();
  const sibyl = await mockSibyl(connection);
  const [, user] = await connection.viem.getWalletClients();
  const client = await connection.viem.getPublicClient();
  const { requestId } = await requestInference(user, {
    coordinator: sibyl.coordinator,
    model: "language-id",
    input: "Hola, ¿cómo estás?",
  });
  assert.equal(await getResult(client, { coordinator: sibyl.coordinator, requestId }), undefined);
  await sibyl.fulfill(requestId, { output: "es 0.9800" });
  const result = await waitForResult(client, {
    coordinator: sibyl.coordinator,
    requestId,
    timeoutMs: 10_000,
  });
  assert.equal(result.status, ResultStatus.Ok);
  assert.equal(result.outputText, "es 0.9800");
  const audit = await verifyResult(client, {
    coordinator: sibyl.coordinator,
    requestId,
    claim: { output: "es 0.9800" },
  });
  assert.equal(audit.valid, true);
  const forged = await verifyResult(client, {
    coordinator: sibyl.coordinator,
    requestId,
    claim: { output: "en 0.9800" },
  });
  assert.equal(forged.valid, false);
  await connection.close();
});
