/**
 * The explorer page in a real headless Chromium against `sibyl dev` as a process: a request made with
 * the CLI appears without a reload, its page shows the answer, verifying in the browser says valid,
 * a tampered claim says invalid, and a wrong RPC or coordinator is explained, not shown as an empty
 * chain. Screenshots of each page go to test-output/explorer/. A second chain, driven by a test
 * operator with real proofs, shows a result delivered without a proof: pending, then proven.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile } from "node:fs/promises";
import { get } from "node:http";
import os from "node:os";
import path from "node:path";
import type { Page } from "playwright-core";
import { createPublicClient, http } from "viem";
import { hardhatKey } from "../../src/cli/devAccounts.js";
import { type ExplorerServer, startExplorerServer } from "../../src/explorer/server.js";
import { releaseSnarkjsCurve } from "../../src/node/prover/curve.js";
import { BatchProver } from "../../src/node/prover/prover.js";
import { getResult, sibylCoordinatorAbi } from "../../src/sdk/index.js";
import { sibylLogAbi } from "../../src/shared/abi/generated.js";
import { findChromium, launchBrowser } from "../helpers/browser.js";
import { type Devnet, startDevnet } from "../helpers/devnet.js";
import { buildExplorerPage } from "../helpers/explorerPage.js";
import { type ChildRun, freePort, REPO_ROOT, runSibyl, startSibyl } from "../helpers/processes.js";
import { ask, okAnswer, TestOperator } from "../helpers/sibyl.js";
import { until } from "../helpers/wait.js";

const SCREENSHOTS = path.join(REPO_ROOT, "test-output/explorer");
// Markup in an input must reach the page as text: a script here would run with the page's origin.
const REQUESTS = 8;
const INPUT = `Bonjour tout le monde, comment allez-vous ? <img src=x onerror="window.pwned=1">`;

describe("sibyl explorer in a real browser (sibyl dev as a process)", function () {
  this.timeout(240_000);
  const executablePath = findChromium();
  let dev: ChildRun;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;
  let explorerUrl: string;
  let env: NodeJS.ProcessEnv;
  let deployment: { rpcUrl: string; coordinator: `0x${string}`; promptBoard: string; operator: string };
  let requestId: string;
  let answer: string;

  before(async function () {
    if (executablePath === undefined) {
      console.log("    skipped: no Chromium found (install Debian's chromium or set SIBYL_CHROMIUM)");
      this.skip();
    }
    await mkdir(SCREENSHOTS, { recursive: true });
    buildExplorerPage();
    const stateDir = await mkdtemp(path.join(os.tmpdir(), "sibyl-explorer-"));
    env = { SIBYL_STATE_DIR: stateDir, OPENAI_API_KEY: "" };
    const ports = [await freePort(), await freePort(), await freePort()].map(String);
    dev = startSibyl(
      [
        "dev",
        "--no-examples",
        "--port",
        ports[0],
        "--api-port",
        ports[1],
        "--explorer-port",
        ports[2],
      ] as string[],
      env,
    );
    await dev.waitFor("Sibyl devnet is running", 150_000);
    explorerUrl = dev.text.match(/explorer {5}(http:\/\/\S+)/)?.[1] as string;
    assert.ok(explorerUrl, dev.tail());
    deployment = JSON.parse(await readFile(path.join(stateDir, "deployment.json"), "utf8"));
    browser = await launchBrowser(executablePath as string);
    page = await browser.context.newPage();
  });

  after(async () => {
    await browser?.close();
    if (dev) await dev.stop("SIGINT");
  });

  const client = () => createPublicClient({ transport: http(deployment.rpcUrl) });
  /** The deployment's result log, named by its coordinator. */
  const log = async () => ({
    address: await client().readContract({
      address: deployment.coordinator,
      abi: sibylCoordinatorAbi,
      functionName: "log",
    }),
    abi: sibylLogAbi,
  });
  const shoot = (name: string) =>
    page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

  it("shows requests made with the CLI without a reload, and their answers once delivered", async () => {
    await page.goto(explorerUrl);
    await page.getByTestId("requests-summary").getByText("No requests yet").waitFor();

    // Several at once, from as many accounts: the node delivers a batch once its requests' escrows pay
    // for it together.
    const sent = await Promise.all(
      Array.from({ length: REQUESTS }, (_, i) =>
        runSibyl(
          [
            "request",
            "--timeout",
            "0",
            "--model",
            "language-id",
            "--key-env",
            "EXPLORER_TEST_KEY",
            `${INPUT} ${i}`,
          ],
          { ...env, EXPLORER_TEST_KEY: hardhatKey(10 + i) },
        ),
      ),
    );
    const ids = sent.map((run) => {
      assert.equal(run.code, 0, run.stderr + run.stdout);
      return run.stdout.match(/^request (\d+) sent/m)?.[1] as string;
    });
    for (const id of ids) await page.locator(`tr[data-request-id="${id}"]`).waitFor({ timeout: 15_000 });
    await page.locator("td.state.answered").first().waitFor({ timeout: 60_000 });

    requestId = (await page
      .locator("tr:has(td.state.answered)")
      .first()
      .getAttribute("data-request-id")) as string;
    const result = await getResult(client(), {
      coordinator: deployment.coordinator,
      requestId: BigInt(requestId),
    });
    answer = result?.outputText as string;
    assert.ok(answer, `no result on the chain for the answered row ${requestId}`);
    const row = page.locator(`tr[data-request-id="${requestId}"]`);
    assert.equal(await row.locator("td.output").textContent(), answer);
    assert.match((await row.textContent()) ?? "", /language-id/);
    await shoot("requests");

    // Each request came from its own account: filtering by one requester leaves exactly its row.
    const requester = (await row.locator("td").nth(2).getAttribute("title")) as string;
    await page.getByLabel("requester").fill(requester.toLowerCase());
    await page.getByLabel("requester").press("Enter");
    await page.getByTestId("requests-summary").getByText("(1 match the filters)").waitFor();
    assert.equal(await page.locator("tr[data-request-id]").count(), 1);
    assert.equal(await page.locator("tr[data-request-id]").getAttribute("data-request-id"), requestId);
    await page.getByLabel("requester").fill("");
    await page.getByLabel("requester").press("Enter");
    await page.getByTestId("requests-summary").getByText(`(${REQUESTS} match the filters)`).waitFor();
  });

  it("a request's page shows its input as text and its answer, and verify in the browser says valid", async () => {
    await page.locator(`a[href="#/request/${requestId}"]`).click();
    await page.getByTestId("request-output").waitFor();
    assert.equal(await page.getByTestId("request-output").textContent(), answer);
    const input = (await page.getByTestId("request-input").textContent()) ?? "";
    assert.ok(input.startsWith(`${INPUT} `), input);
    assert.equal(await page.locator("main img").count(), 0);
    assert.equal(await page.evaluate(() => (globalThis as { pwned?: number }).pwned), undefined);

    await page.getByTestId("verify").click();
    const verdict = page.getByTestId("verdict-line");
    await verdict.waitFor();
    // Proven under the root, or delivered without a proof yet and committed in the pending queue.
    assert.match(
      (await verdict.textContent()) ?? "",
      /^VALID, (proven: the delivered answer is leaf \d+ of the log under the onchain root|in the log, proof pending: the delivered answer is committed at sequence \d+)/,
    );
    const root = await client().readContract({ ...(await log()), functionName: "root" });
    assert.match((await page.getByTestId("verdict").textContent()) ?? "", new RegExp(`onchain root${root}`));
    await shoot("request-verified");
  });

  it("a claimed answer is checked in the browser: the true one is valid, a tampered one invalid", async () => {
    await page.getByTestId("claim").fill(answer);
    await page.getByTestId("verify-claim").click();
    await page
      .getByTestId("verdict-line")
      .getByText(new RegExp(`^VALID, [^:]+: "${answer}"`))
      .waitFor();

    await page.getByTestId("claim").fill("en 0.9999");
    await page.getByTestId("verify-claim").click();
    const verdict = page.getByTestId("verdict-line");
    await verdict.getByText(/^INVALID: /).waitFor();
    assert.match(
      (await verdict.textContent()) ?? "",
      /the (log holds leaf \d+ at slot \d+|queue of pending leaves holds leaf \d+ at sequence \d+), the result's leaf is \d+/,
    );
    await shoot("request-tampered");
  });

  it("the log, operators and models, and charts pages show the chain's state", async () => {
    await page.goto(`${explorerUrl}/#/log`);
    const root = page.getByTestId("root");
    await root.waitFor();
    const chainRoot = await client().readContract({ ...(await log()), functionName: "root" });
    assert.equal(await root.textContent(), String(chainRoot));
    const batches = await client().getContractEvents({
      ...(await log()),
      eventName: "BatchAppended",
      fromBlock: 0n,
    });
    assert.equal(await page.locator('[data-testid="batches"] tbody tr').count(), batches.length);
    await shoot("log");

    await page.goto(`${explorerUrl}/#/operators`);
    await page.getByTestId("operators").waitFor();
    assert.match(
      (await page.getByTestId("operators").textContent()) ?? "",
      new RegExp(`${deployment.operator}1 ETH`),
    );
    assert.match((await page.getByTestId("models").textContent()) ?? "", /language-id/);
    await shoot("operators");

    await page.goto(`${explorerUrl}/#/charts`);
    await page.locator("figure.chart svg circle").first().waitFor();
    await shoot("charts");
  });

  it("a wrong coordinator, a contract that is not one, and an unreachable RPC each get a clear message", async () => {
    const cases: Array<[string, RegExp]> = [
      [
        "coordinator=0x000000000000000000000000000000000000dEaD",
        /^No contract at 0x000000000000000000000000000000000000dEaD on chain \d+/,
      ],
      [`coordinator=${deployment.promptBoard}`, /is not a Sibyl log or coordinator/],
      ["coordinator=0x1234", /"0x1234" is not an address/],
      ["rpc=http://127.0.0.1:1", /^Cannot reach the RPC at http:\/\/127\.0\.0\.1:1/],
    ];
    for (const [query, message] of cases) {
      await page.goto(`${explorerUrl}/?${query}`);
      const problem = page.getByTestId("problem");
      await problem.waitFor({ timeout: 20_000 });
      assert.match((await problem.textContent()) ?? "", message, query);
    }
    await page.goto(`${explorerUrl}/?coordinator=0x000000000000000000000000000000000000dEaD`);
    await page.getByTestId("problem").waitFor();
    await shoot("wrong-coordinator");
  });

  it("sibyl explorer serves the page for a chain and coordinator, and nothing outside the page", async () => {
    const port = await freePort();
    const explorer = startSibyl(
      [
        "explorer",
        "--rpc",
        deployment.rpcUrl,
        "--coordinator",
        deployment.coordinator,
        "--port",
        String(port),
      ],
      env,
    );
    try {
      await explorer.waitFor(`Sibyl explorer on http://127.0.0.1:${port}`, 30_000);
      const config = await (await fetch(`http://127.0.0.1:${port}/config.json`)).json();
      // The page reads the chain through the server's read-only proxy, never the RPC itself.
      assert.deepEqual(config, {
        rpcUrl: "rpc",
        coordinator: deployment.coordinator,
        fromBlock: "0",
      });
      // Raw paths, as a client that does not normalise them would send them.
      const status = (pathname: string) =>
        new Promise<number | undefined>((resolve, reject) => {
          get({ host: "127.0.0.1", port, path: pathname }, (response) => {
            response.resume();
            resolve(response.statusCode);
          }).on("error", reject);
        });
      assert.equal(await status("/"), 200);
      for (const outside of [
        "/../package.json",
        "/../../package.json",
        "/assets/../../package.json",
        "/..%2fpackage.json",
      ]) {
        assert.equal(await status(outside), 404, outside);
      }
      await page.goto(`http://127.0.0.1:${port}/#/operators`);
      await page.getByTestId("models").getByText("language-id").waitFor();
    } finally {
      assert.equal((await explorer.stop("SIGINT")).code, 0, explorer.tail());
    }
    const wrong = await runSibyl(
      ["explorer", "--rpc", deployment.rpcUrl, "--coordinator", "0x000000000000000000000000000000000000dEaD"],
      env,
    );
    assert.equal(wrong.code, 1);
    assert.match(
      wrong.stderr,
      /^sibyl: no contract at 0x000000000000000000000000000000000000dEaD on http[^\n]+\n$/,
    );
  });

  it("a reorg under the page is announced and the view re-read from the new chain", async () => {
    await page.goto(`${explorerUrl}/#/log`);
    await page.getByTestId("root").waitFor();
    const rpc = (method: string, params: unknown[] = []) =>
      client().request({ method, params } as never) as Promise<string>;
    // The devnet's node proves what it delivered a moment later; with nothing left to prove, no block
    // but the test's own comes while the page is watched.
    await until(async () => {
      const [proven, delivered] = await client().readContract({
        ...(await log()),
        functionName: "pendingLog",
      });
      return proven === delivered ? true : undefined;
    });
    const snapshot = await rpc("evm_snapshot");
    await rpc("evm_mine");
    const seen = await client().getBlockNumber();
    await page.getByText(new RegExp(`block ${seen} `)).waitFor();
    // The block the page showed is replaced by a different one at the same height, then built upon.
    await rpc("evm_revert", [snapshot]);
    await rpc("evm_setNextBlockTimestamp", [Math.floor(Date.now() / 1000) + 3600]);
    await rpc("evm_mine");
    await rpc("evm_mine");
    const notice = page.locator("#notice");
    await notice.getByText(`The chain reorganised at block ${seen}`).waitFor({ timeout: 15_000 });
    await shoot("reorg");
  });
});

describe("sibyl explorer: a result delivered without a proof, then proven (hardhat node, real proofs)", function () {
  this.timeout(300_000);
  const executablePath = findChromium();
  let devnet: Devnet;
  let prover: BatchProver;
  let operator: TestOperator;
  let explorer: ExplorerServer;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;
  let requestId: bigint;
  const answer = "it 0.9412";

  before(async function () {
    if (executablePath === undefined) {
      console.log("    skipped: no Chromium found (install Debian's chromium or set SIBYL_CHROMIUM)");
      this.skip();
    }
    await mkdir(SCREENSHOTS, { recursive: true });
    buildExplorerPage();
    devnet = await startDevnet([]);
    prover = new BatchProver();
    operator = new TestOperator(devnet.sibyl, prover);
    // One result proven with its delivery, then one delivered alone, its proof pending.
    await operator.fulfill([okAnswer((await ask(devnet.sibyl, "proven at once")).commitment, "en 0.9000")]);
    const { commitment } = await ask(devnet.sibyl, "Oggi il tempo è bellissimo.");
    requestId = commitment.requestId;
    await operator.deliver([okAnswer(commitment, answer)]);
    explorer = await startExplorerServer({
      config: { rpcUrl: devnet.chain.url, coordinator: devnet.sibyl.coordinator.address, fromBlock: "0" },
      port: await freePort(),
    });
    browser = await launchBrowser(executablePath as string);
    page = await browser.context.newPage();
  });

  after(async () => {
    await browser?.close();
    await explorer?.close();
    await prover?.close();
    await devnet?.stop();
    await releaseSnarkjsCurve();
  });

  const shoot = (name: string) =>
    page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

  it("shows the result as in the log, proof pending, and verifies it so in the browser", async () => {
    await page.goto(explorer.url);
    const state = page.locator(`tr[data-request-id="${requestId}"] td.state.answered`);
    await state.waitFor();
    assert.equal(await state.textContent(), "answered, proof pending");
    assert.equal(await page.locator('tr[data-request-id="1"] td.state').textContent(), "answered");

    await page.goto(`${explorer.url}/#/request/${requestId}`);
    await page.getByTestId("request-output").getByText(answer).waitFor();
    assert.match((await page.getByTestId("leaf-index").textContent()) ?? "", /^proof pending: committed/);

    await page.getByTestId("verify").click();
    const verdict = page.getByTestId("verdict-line");
    await verdict.waitFor();
    assert.equal(
      await verdict.textContent(),
      `VALID, in the log, proof pending: the delivered answer is committed at sequence 1 in the onchain queue of pending leaves (block ${await devnet.sibyl.publicClient.getBlockNumber()}).`,
    );
    assert.match(
      (await page.getByTestId("verdict-meaning").textContent()) ?? "",
      /computed this leaf itself.*can only be proven in this order/,
    );
    assert.match((await page.getByTestId("verdict").textContent()) ?? "", /pending queuesequences 1 to 1/);
    await shoot("request-pending");

    await page.getByTestId("claim").fill("en 0.9412");
    await page.getByTestId("verify-claim").click();
    await verdict
      .getByText(
        /^INVALID: the queue of pending leaves holds leaf \d+ at sequence 1, the result's leaf is \d+$/,
      )
      .waitFor();

    await page.goto(`${explorer.url}/#/log`);
    await page
      .getByTestId("pending")
      .getByText("1 delivered results (sequences 1–1)", { exact: false })
      .waitFor();
  });

  it("once someone proves the queue, the same page shows its leaf index and verifies it as proven", async () => {
    await page.goto(`${explorer.url}/#/request/${requestId}`);
    await page
      .getByTestId("leaf-index")
      .getByText(/^proof pending/)
      .waitFor();
    const someone = devnet.sibyl.users[2];
    assert.ok(someone);
    await operator.provePending(1, someone.account);
    // The page follows a pending result block by block: no reload.
    await page.getByTestId("leaf-index").getByText(/^1$/).waitFor({ timeout: 15_000 });

    await page.getByTestId("verify").click();
    await page
      .getByTestId("verdict-line")
      .getByText(/^VALID, proven: the delivered answer is leaf 1 of the log under the onchain root/)
      .waitFor();
    const root = await devnet.sibyl.log.read.root();
    assert.match((await page.getByTestId("verdict").textContent()) ?? "", new RegExp(`onchain root${root}`));
    await shoot("request-proven-later");

    await page.getByTestId("claim").fill("en 0.9412");
    await page.getByTestId("verify-claim").click();
    await page
      .getByTestId("verdict-line")
      .getByText(/^INVALID: the log holds leaf \d+ at slot 1, the result's leaf is \d+$/)
      .waitFor();
    await page.goto(`${explorer.url}/#/log`);
    await page.getByTestId("pending").getByText("none").waitFor();
    await page.goto(explorer.url);
    await page
      .locator(`tr[data-request-id="${requestId}"] td.state`)
      .getByText(/^answered$/)
      .waitFor();
  });
});
