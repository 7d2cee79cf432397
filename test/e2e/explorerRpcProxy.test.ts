/**
 * The explorer started with a provider's keyed RPC URL (key in the path and in the query, as Alchemy's
 * and Infura's are): nothing the server hands out holds the key — page, scripts, config — the browser
 * never asks anything that carries it, the page still reads the chain (through the server's proxy), and
 * the proxy refuses anything that is not a read. The "provider" is a real HTTP JSON-RPC server in front
 * of the in-process Hardhat network that answers only with the key.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { network } from "hardhat";
import { type ExplorerServer, startExplorerServer } from "../../src/explorer/server.js";
import { findChromium, launchBrowser } from "../helpers/browser.js";
import { buildExplorerPage } from "../helpers/explorerPage.js";
import { deploySibyl, type Sibyl } from "../helpers/sibyl.js";

const PATH_KEY = "SECRETPATHKEY0123456789";
const QUERY_KEY = "SECRETQUERYKEY9876543210";

describe("sibyl explorer with a keyed RPC URL: the key never reaches the browser", function () {
  this.timeout(180_000);
  let connection: Awaited<ReturnType<typeof network.create>>;
  let sibyl: Sibyl;
  let provider: { server: Server; url: string; methods: string[] };
  let explorer: ExplorerServer;

  before(async () => {
    buildExplorerPage();
    connection = await network.create();
    sibyl = await deploySibyl(connection.viem);
    provider = await startKeyedProvider(connection);
    explorer = await startExplorerServer({
      config: { rpcUrl: provider.url, coordinator: sibyl.coordinator.address, fromBlock: "0" },
      port: 0,
    });
  });
  after(async () => {
    await explorer?.close();
    provider?.server.close();
    await connection?.close();
  });

  const rpc = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${explorer.url}/rpc`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  it("hands out no page, script or config that holds the key", async () => {
    const served: string[] = [];
    const html = await (await fetch(`${explorer.url}/`)).text();
    served.push(html, await (await fetch(`${explorer.url}/config.json`)).text());
    const assets = [...html.matchAll(/(?:src|href)="\.?\/?([^"]+)"/g)].map((match) => match[1] as string);
    assert.ok(
      assets.some((asset) => asset.endsWith(".js")),
      `the page loads its script: ${assets}`,
    );
    for (const asset of assets) served.push(await (await fetch(`${explorer.url}/${asset}`)).text());
    for (const text of served) {
      assert.ok(!text.includes(PATH_KEY) && !text.includes(QUERY_KEY), "a served file holds the key");
      assert.ok(!text.includes(provider.url), "a served file holds the RPC URL");
    }
    assert.equal(JSON.parse(served[1] as string).rpcUrl, "rpc");
  });

  it("proxies reads, and refuses writes, signing and node control without passing them on", async () => {
    const chainId = (await (
      await rpc({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] })
    ).json()) as {
      result: string;
    };
    assert.equal(chainId.result, `0x${(await sibyl.publicClient.getChainId()).toString(16)}`);
    const before = provider.methods.length;
    const refused = [
      { jsonrpc: "2.0", id: 2, method: "eth_sendRawTransaction", params: ["0x02f8"] },
      { jsonrpc: "2.0", id: 3, method: "eth_sendTransaction", params: [{}] },
      { jsonrpc: "2.0", id: 4, method: "eth_sign", params: [] },
      { jsonrpc: "2.0", id: 5, method: "hardhat_setBalance", params: [] },
      { jsonrpc: "2.0", id: 6, method: "evm_mine", params: [] },
      // A batch is refused whole when any call in it is not a read.
      [
        { jsonrpc: "2.0", id: 7, method: "eth_blockNumber", params: [] },
        { jsonrpc: "2.0", id: 8, method: "eth_sendRawTransaction", params: ["0x02f8"] },
      ],
    ];
    for (const call of refused) {
      const response = await rpc(call);
      assert.equal(response.status, 403, JSON.stringify(call));
      const reply = (await response.json()) as { error: { message: string } };
      assert.match(reply.error.message, /not a read/);
    }
    assert.equal((await rpc("x".repeat(70_000))).status, 413, "a body over the cap");
    assert.equal((await rpc("{not json")).status, 400);
    const crossSite = await rpc(
      { jsonrpc: "2.0", id: 9, method: "eth_blockNumber", params: [] },
      { origin: "https://evil.example" },
    );
    assert.equal(crossSite.status, 403, "another site's script");
    assert.deepEqual(provider.methods.slice(before), [], "nothing refused reached the RPC");
    assert.equal((await fetch(`${explorer.url}/rpc`)).status, 405);
  });

  it("the page reads the chain through the proxy, and the browser never asks for the key", async function () {
    const executablePath = findChromium();
    if (executablePath === undefined) {
      console.log("    skipped: no Chromium found (install Debian's chromium or set SIBYL_CHROMIUM)");
      this.skip();
    }
    const browser = await launchBrowser(executablePath as string);
    try {
      const page = await browser.context.newPage();
      const asked: string[] = [];
      page.on("request", (request) => asked.push(`${request.url()} ${request.postData() ?? ""}`));
      const before = provider.methods.length;
      await page.goto(`${explorer.url}/#/operators`);
      await page
        .getByTestId("operators")
        .getByText(sibyl.operator.account.address, { exact: false })
        .waitFor();
      assert.ok(asked.length > 0);
      for (const request of asked)
        assert.ok(
          !request.includes(PATH_KEY) && !request.includes(QUERY_KEY),
          `the browser asked ${request}`,
        );
      assert.ok(
        asked.some((request) => request.startsWith(`${explorer.url}/rpc`)),
        "the page read through the proxy",
      );
      assert.ok(provider.methods.slice(before).includes("eth_call"), "the proxy passed its reads on");
    } finally {
      await browser.close();
    }
  });
});

/**
 * A JSON-RPC endpoint that answers only at /v2/<key>?apikey=<key>, from the Hardhat network, and
 * records the methods it was asked.
 */
async function startKeyedProvider(connection: Awaited<ReturnType<typeof network.create>>) {
  const methods: string[] = [];
  const answer = async (call: { id?: unknown; method: string; params?: unknown[] }) => {
    methods.push(call.method);
    try {
      const result = await connection.provider.request({ method: call.method, params: call.params ?? [] });
      return { jsonrpc: "2.0", id: call.id, result };
    } catch (error) {
      const { code, message } = error as { code?: number; message?: string };
      return { jsonrpc: "2.0", id: call.id, error: { code: code ?? -32603, message } };
    }
  };
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", async () => {
      if (url.pathname !== `/v2/${PATH_KEY}` || url.searchParams.get("apikey") !== QUERY_KEY) {
        response.writeHead(401).end();
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        response.writeHead(400).end();
        return;
      }
      type Call = Parameters<typeof answer>[0];
      const reply = Array.isArray(body)
        ? await Promise.all((body as Call[]).map(answer))
        : await answer(body as Call);
      response.writeHead(200, { "content-type": "application/json" });
      response.end(
        JSON.stringify(reply, (_key, value) => (typeof value === "bigint" ? String(value) : value)),
      );
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/v2/${PATH_KEY}?apikey=${QUERY_KEY}`, methods };
}
