/**
 * The result log: its current root and size, the results delivered and still waiting for their proof,
 * and every batch proof that grew it, newest first.
 */
import { pendingLogFrom } from "../../../sdk/index.js";
import type { Chain } from "../chain.js";
import { facts, h, short } from "../dom.js";
import type { View } from "./view.js";

const SHOWN = 50;
const WITH_GAS = 20;

export function logView(chain: Chain): View {
  const body = h("div");
  const element = h("section", {}, h("h2", {}, "Log and proofs"), body);

  async function refresh() {
    const [root, nextIndex, pending, batches] = await Promise.all([
      chain.read("root"),
      chain.read("nextIndex"),
      chain.read("pendingLog"),
      chain.batches(WITH_GAS),
    ]);
    const queue = pendingLogFrom(pending);
    const waiting = queue.delivered - queue.proven;
    body.replaceChildren(
      facts([
        ["current root", h("code", { "data-testid": "root" }, String(root))],
        ["next index", String(nextIndex)],
        ["batches", String(batches.length)],
        ["results proven", String(queue.proven)],
        [
          "proof pending",
          h(
            "span",
            { "data-testid": "pending" },
            waiting === 0n
              ? "none"
              : `${waiting} delivered results (sequences ${queue.proven}–${queue.delivered - 1n}), committed in the onchain queue`,
          ),
        ],
      ]),
      h(
        "table",
        { "data-testid": "batches" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ...[
              "block",
              "transaction",
              "prover",
              "leaves",
              "results",
              "old → new root",
              "gas",
              "gas/result",
            ].map((name) => h("th", {}, name)),
          ),
        ),
        h(
          "tbody",
          {},
          ...batches
            .slice(-SHOWN)
            .reverse()
            .map((batch) =>
              h(
                "tr",
                {},
                h("td", {}, String(batch.blockNumber)),
                h("td", { title: batch.transactionHash }, short(batch.transactionHash)),
                h("td", { title: batch.prover }, short(batch.prover)),
                h("td", {}, `${batch.startIndex}–${batch.startIndex + batch.batchSize - 1n}`),
                h("td", {}, `${batch.count}/${batch.batchSize}`),
                h("td", {}, `${short(String(batch.oldRoot), 4)} → ${short(String(batch.newRoot), 4)}`),
                h("td", {}, batch.gasUsed === undefined ? "" : String(batch.gasUsed)),
                h("td", {}, batch.gasUsed === undefined ? "" : String(batch.gasUsed / batch.count)),
              ),
            ),
        ),
      ),
    );
  }

  return { element, live: () => true, refresh };
}
