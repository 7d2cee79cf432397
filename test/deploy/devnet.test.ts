/**
 * Deploying to `hardhat node` processes, the way `sibyl dev` does: each devnet is a fresh chain, and
 * whatever Ignition journaled for the previous one must not leak into the next deployment.
 */
import assert from "node:assert/strict";
import { readdir, rm, rmdir } from "node:fs/promises";
import path from "node:path";
import { network } from "hardhat";
import { deploySibylStack, type SibylDeployment } from "../../src/deploy/index.js";
import { SibylError } from "../../src/shared/errors.js";
import { type ChildRun, REPO_ROOT, startHardhatNode } from "../helpers/processes.js";

type Connection = Awaited<ReturnType<typeof network.create>>;

const DEPLOYMENTS_DIR = path.join(REPO_ROOT, "ignition/deployments");

async function journalsInRepo(): Promise<string[]> {
  return readdir(DEPLOYMENTS_DIR).catch(() => []);
}

describe("deploySibylStack on hardhat node", () => {
  const nodes: ChildRun[] = [];
  const connections: Connection[] = [];
  const deploymentId = `sibyl-test-${process.pid}`;
  let journalsBefore: string[];

  before(async () => {
    journalsBefore = await journalsInRepo();
  });

  after(async () => {
    for (const connection of connections) await connection.close();
    for (const node of nodes) await node.stop();
    await rm(path.join(DEPLOYMENTS_DIR, deploymentId), { recursive: true, force: true });
    // Ignition creates the deployments directory for the journaled test; leave the tree as it was.
    if (journalsBefore.length === 0) await rmdir(DEPLOYMENTS_DIR).catch(() => {});
  });

  async function freshChain(): Promise<Connection> {
    const chain = await startHardhatNode();
    nodes.push(chain.run);
    const connection = await network.create({ network: "localhost", override: { url: chain.url } });
    connections.push(connection);
    return connection;
  }

  async function assertDeployed(connection: Connection, deployment: SibylDeployment): Promise<void> {
    const log = await connection.viem.getContractAt("SibylLog", deployment.log);
    assert.deepEqual(await log.read.batchSizes(), [1n, 4n, 16n, 64n]);
    assert.equal(await log.read.coordinator(), deployment.coordinator);
    const board = await connection.viem.getContractAt("PromptBoard", deployment.promptBoard);
    assert.equal(await board.read.sibylCoordinator(), deployment.coordinator);
  }

  it("deploys to two fresh chains in a row, leaving no journal behind", async () => {
    for (let run = 0; run < 2; run++) {
      const connection = await freshChain();
      const deployment = await deploySibylStack(connection);
      await assertDeployed(connection, deployment);
    }
    assert.deepEqual(await journalsInRepo(), journalsBefore);
  });

  it("resumes a journaled deployment, and refuses that journal on a fresh chain", async () => {
    const chain = await freshChain();
    const first = await deploySibylStack(chain, { deploymentId });
    await assertDeployed(chain, first);
    assert.deepEqual(await deploySibylStack(chain, { deploymentId }), first);

    // What `sibyl dev` would hit if it journaled: a restarted devnet, the previous chain's journal.
    await assert.rejects(
      deploySibylStack(await freshChain(), { deploymentId }),
      (error: unknown) =>
        error instanceof SibylError && error.message.includes(`${deploymentId} is not of this chain`),
    );
  });
});
