/**
 * The explorer's entry: find the chain, check it holds a Sibyl coordinator, then show the view the
 * address's #hash names and refresh it on every new block. A reorg under the page is announced and the
 * view re-read from the new chain.
 */
import { Chain } from "./chain.js";
import { h, short } from "./dom.js";
import { ExplorerProblem, loadTarget } from "./target.js";
import { chartsView } from "./views/charts.js";
import { logView } from "./views/log.js";
import { operatorsView } from "./views/operators.js";
import { requestView } from "./views/request.js";
import { requestsView } from "./views/requests.js";
import type { View, ViewFactory } from "./views/view.js";
import "./style.css";

const POLL_MS = 1_000;

const ROUTES: Record<string, ViewFactory> = {
  requests: requestsView,
  request: requestView,
  log: logView,
  operators: operatorsView,
  charts: chartsView,
};

const main = document.querySelector("main") as HTMLElement;
const status = document.querySelector("#status") as HTMLElement;
const notice = document.querySelector("#notice") as HTMLElement;

function showProblem(message: string): void {
  main.replaceChildren(h("p", { class: "problem", "data-testid": "problem" }, message));
}

function showNotice(message: string | undefined): void {
  notice.textContent = message ?? "";
  notice.hidden = message === undefined;
}

async function start(): Promise<void> {
  const target = await loadTarget();
  const chain = new Chain(target);
  const { chainId } = await chain.check();
  let view: View | undefined;
  let head: { number: bigint; hash: string } | undefined;
  // A read error's notice goes once reads succeed again; a reorg's stays, so it can be read.
  let readFailing = false;
  const readFailed = (message: string) => {
    readFailing = true;
    showNotice(message);
  };

  const refresh = async (current: View) => {
    try {
      await current.refresh();
      if (readFailing) showNotice(undefined);
      readFailing = false;
    } catch (error) {
      readFailed(`Could not read the chain at ${target.rpcUrl}: ${(error as Error).message.split("\n")[0]}`);
    }
  };

  const route = () => {
    const [name = "requests", argument] = location.hash.replace(/^#\/?/, "").split("/");
    const factory = ROUTES[name] ?? requestsView;
    view = factory(chain, argument);
    main.replaceChildren(view.element);
    for (const link of document.querySelectorAll("nav a")) {
      link.classList.toggle(
        "current",
        link.getAttribute("href") === `#/${name === "request" ? "requests" : name}`,
      );
    }
    void refresh(view);
  };

  const poll = async () => {
    try {
      const latest = await chain.client.getBlock({ blockTag: "latest" });
      if (head === undefined || latest.hash !== head.hash) {
        // The block we last showed is no longer on the chain: what we showed may have changed.
        const reorged =
          head !== undefined &&
          latest.number >= head.number &&
          (await chain.client.getBlock({ blockNumber: head.number })).hash !== head.hash;
        if (reorged && head) {
          chain.forgetBlocks();
          showNotice(
            `The chain reorganised at block ${head.number}: the page was re-read from the new chain.`,
          );
        }
        head = { number: latest.number, hash: latest.hash as string };
        status.textContent = `chain ${chainId} · block ${latest.number} · coordinator ${short(target.coordinator)} · ${target.rpcUrl}`;
        if (view && (view.live() || reorged)) await refresh(view);
      }
    } catch (error) {
      readFailed(`Lost the RPC at ${target.rpcUrl}: ${(error as Error).message.split("\n")[0]}`);
    } finally {
      setTimeout(poll, POLL_MS);
    }
  };

  window.addEventListener("hashchange", route);
  route();
  await poll();
}

start().catch((error: unknown) => {
  showProblem(
    error instanceof ExplorerProblem ? error.message : `Unexpected error: ${(error as Error).message}`,
  );
  status.textContent = "not connected";
});
