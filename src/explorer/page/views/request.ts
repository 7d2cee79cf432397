/** One request: what was asked, what was answered, what it cost, and a verify button that runs in this browser. */
import { stringToHex } from "viem";
import { ResultStatus, verifyResult } from "../../../sdk/index.js";
import { decodeUtf8 } from "../../../sdk/utils.js";
import { type Chain, modelName } from "../chain.js";
import { eth, facts, h, short } from "../dom.js";
import type { View } from "./view.js";

const STATUS_NAMES = Object.fromEntries(Object.entries(ResultStatus).map(([name, value]) => [value, name]));
const CALLBACK_NAMES = ["skipped (no callback gas)", "succeeded", "failed (the result is still delivered)"];

export function requestView(chain: Chain, argument: string | undefined): View {
  const body = h("div");
  const element = h("section", {}, h("h2", {}, `Request #${argument ?? "?"}`), body);
  if (argument === undefined || !/^\d+$/.test(argument)) {
    body.append(h("p", { class: "problem" }, `"${argument ?? ""}" is not a request id.`));
    return { element, live: () => false, refresh: async () => undefined };
  }
  const requestId = BigInt(argument);
  let answered = false;
  let verifyPanel: HTMLElement | undefined;

  async function refresh() {
    const detail = await chain.requestDetail(requestId);
    if (detail === undefined) {
      body.replaceChildren(h("p", { class: "problem" }, `The coordinator has no request #${requestId}.`));
      return;
    }
    const { request, result, cancelled, delivery } = detail;
    const { commitment } = request;
    // A result waiting for its proof still changes: the page follows it until it is proven.
    answered = result?.batch !== undefined;
    const state = result ? "answered" : cancelled ? "cancelled" : request.pending ? "pending" : "closed";
    const sections: HTMLElement[] = [
      facts([
        ["status", h("span", { class: `state ${state}`, "data-testid": "request-state" }, state)],
        ["model", `${modelName(commitment.modelId)} (${short(commitment.modelId)})`],
        ["requester", commitment.requester],
        ["refund to", commitment.refundTo],
        ["assigned operator", commitment.operator],
        ["escrow", eth(commitment.escrow)],
        ["deadline", new Date(Number(commitment.deadline) * 1000).toISOString()],
        ["exclusive until", new Date(Number(commitment.exclusiveUntil) * 1000).toISOString()],
        ["callback gas limit", String(commitment.callbackGasLimit)],
        [
          "requested",
          `block ${request.blockNumber}, ${new Date(detail.requestedAt * 1000).toISOString()}, tx ${short(request.transactionHash)}`,
        ],
      ]),
      h("h3", {}, "Input"),
      h("pre", { "data-testid": "request-input" }, decodeUtf8(request.input) ?? request.input),
    ];
    if (result) {
      sections.push(
        h("h3", {}, "Answer"),
        h("pre", { "data-testid": "request-output" }, result.outputText ?? result.output),
        facts([
          ["result status", STATUS_NAMES[result.status] ?? String(result.status)],
          ["delivered by", result.operator],
          ["callback", CALLBACK_NAMES[result.callback] ?? String(result.callback)],
          ["fee paid", eth(result.fee)],
          ["refunded", eth(commitment.escrow - result.fee)],
          ["metadata", h("code", {}, decodeUtf8(result.metadata) ?? result.metadata)],
          ["sequence", String(result.sequence)],
          [
            "leaf index",
            h(
              "span",
              { "data-testid": "leaf-index" },
              result.leafIndex === undefined
                ? "proof pending: committed in the onchain queue of delivered leaves, not under the root yet"
                : String(result.leafIndex),
            ),
          ],
          ["delivered", `block ${result.blockNumber}, tx ${short(result.transactionHash)}`],
          ...(delivery
            ? ([
                [
                  "delivery gas",
                  `${delivery.gasUsed} (${delivery.gasUsed / BigInt(Math.max(delivery.results, 1))} per result)`,
                ],
              ] as Array<[string, string]>)
            : []),
          ...(delivery?.batch
            ? ([
                [
                  "proof",
                  `${delivery.batch.count} of ${delivery.batch.batchSize} slots from leaf ${delivery.batch.startIndex}, proved by a Groth16 proof ${delivery.batch.transactionHash === result.transactionHash ? "in the same transaction" : `in block ${delivery.batch.blockNumber}, tx ${short(delivery.batch.transactionHash)}`}; root ${short(String(delivery.batch.oldRoot))} → ${short(String(delivery.batch.newRoot))}`,
                ],
              ] as Array<[string, string]>)
            : []),
        ]),
      );
    } else if (cancelled) {
      sections.push(h("p", {}, `Cancelled: ${eth(cancelled.refund)} refunded to ${cancelled.refundTo}.`));
    }
    body.replaceChildren(...sections);
    if (result) {
      verifyPanel ??= verifySection(chain, requestId);
      body.append(verifyPanel);
    }
  }

  return { element, live: () => !answered, refresh };
}

/** Runs the SDK's verifyResult here, against the RPC, for the chain's answer or a claimed one. */
function verifySection(chain: Chain, requestId: bigint): HTMLElement {
  const verdict = h("div", { "data-testid": "verdict" });
  const claimInput = h("input", {
    placeholder: "an answer someone told you, e.g. en 0.9999",
    "aria-label": "claimed output",
    "data-testid": "claim",
  }) as HTMLInputElement;
  const run = async (claim: string | undefined) => {
    verdict.replaceChildren(h("p", { class: "muted" }, "Rebuilding the log from the coordinator's events…"));
    try {
      const { coordinator, fromBlock } = chain.target;
      const outcome = await verifyResult(chain.client, {
        coordinator,
        requestId,
        fromBlock,
        ...(claim === undefined ? {} : { claim: { output: stringToHex(claim) } }),
      });
      const subject = claim === undefined ? "the delivered answer" : `"${claim}"`;
      const line = !outcome.valid
        ? `INVALID: ${outcome.reason}`
        : outcome.state === "proven"
          ? `VALID, proven: ${subject} is leaf ${outcome.leafIndex} of the log under the onchain root (block ${outcome.blockNumber}).`
          : `VALID, in the log, proof pending: ${subject} is committed at sequence ${outcome.sequence} in the onchain queue of pending leaves (block ${outcome.blockNumber}).`;
      verdict.replaceChildren(
        h("p", { class: outcome.valid ? "valid" : "invalid", "data-testid": "verdict-line" }, line),
        ...(outcome.valid
          ? [h("p", { class: "muted", "data-testid": "verdict-meaning" }, outcome.meaning)]
          : []),
        facts(
          outcome.state === "proven"
            ? [
                ["leaf", String(outcome.leaf)],
                ["leaf index", String(outcome.leafIndex)],
                ["onchain root", String(outcome.root)],
                [
                  "Merkle path",
                  h(
                    "ol",
                    { start: "0", class: "path" },
                    ...outcome.siblings.map((sibling) => h("li", {}, String(sibling))),
                  ),
                ],
              ]
            : [
                ["leaf", String(outcome.leaf)],
                ["sequence", String(outcome.sequence)],
                [
                  "pending queue",
                  `sequences ${outcome.queue.proven} to ${outcome.queue.delivered - 1n}, hash chain ${outcome.queue.head} → ${outcome.queue.tail}`,
                ],
                ["onchain root", String(outcome.root)],
              ],
        ),
      );
    } catch (error) {
      verdict.replaceChildren(h("p", { class: "problem" }, `Could not verify: ${(error as Error).message}`));
    }
  };
  return h(
    "div",
    { class: "verify" },
    h("h3", {}, "Verify in this browser"),
    h(
      "p",
      { class: "muted" },
      "Recomputes the result's leaf and rebuilds the log from the coordinator's events, then checks the Merkle path against root() — or, while the proof is pending, the hash chain of the onchain queue against pendingLog() — through the RPC only, trusting no node.",
    ),
    h("button", { "data-testid": "verify", click: () => void run(undefined) }, "Verify the delivered answer"),
    h(
      "div",
      { class: "claim" },
      claimInput,
      h(
        "button",
        { "data-testid": "verify-claim", click: () => void run(claimInput.value) },
        "Check this claim",
      ),
    ),
    verdict,
  );
}
