/** The result log: its current root and size, and every batch proof that grew it, newest first. */
import type { Chain } from "../chain.js";
import { facts, h, short } from "../dom.js";
import type { View } from "./view.js";

const SHOWN = 50;
const WITH_GAS = 20;

export function logView(chain: Chain): View {
  const body = h("div");
  const element = h("section", {}, h("h2", {}, "Log and proofs"), body);

  async function refresh() {
    const [root, nextIndex, batches] = await Promise.all([
      chain.read("root"),
      chain.read("nextIndex"),
      chain.batches(WITH_GAS),
    ]);
    const delivered = batches.reduce((sum, batch) => sum + batch.count, 0n);
    body.replaceChildren(
      facts([
        ["current root", h("code", { "data-testid": "root" }, String(root))],
        ["next index", String(nextIndex)],
        ["batches", String(batches.length)],
        ["results proven", String(delivered)],
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
              "operator",
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
                h("td", { title: batch.operator }, short(batch.operator)),
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
