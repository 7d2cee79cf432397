/** The live list of requests, newest first, a page of ids at a time, with filters on what is loaded. */
import { type Chain, modelName, outputPreview, type RequestRow } from "../chain.js";
import { duration, h, short } from "../dom.js";
import type { View } from "./view.js";

const PAGE_SIZE = 25;

export function requestsView(chain: Chain): View {
  let page = 0;
  const filters = { model: "", requester: "", status: "" };
  const summary = h("p", { class: "muted", "data-testid": "requests-summary" });
  const body = h("div");
  const modelSelect = h(
    "select",
    { "aria-label": "model", change: onFilter("model") },
    h("option", { value: "" }, "all models"),
  );
  const statusSelect = h(
    "select",
    { "aria-label": "status", change: onFilter("status") },
    ...["", "pending", "answered", "cancelled", "expired"].map((state) =>
      h("option", { value: state }, state || "all statuses"),
    ),
  );
  const requesterInput = h("input", {
    placeholder: "requester 0x…",
    "aria-label": "requester",
    change: onFilter("requester"),
  });
  const pager = h(
    "p",
    { class: "pager" },
    h("button", { click: () => turn(-1) }, "← newer"),
    h("button", { click: () => turn(1) }, "older →"),
  );
  const element = h(
    "section",
    {},
    h("h2", {}, "Requests"),
    h("div", { class: "filters" }, modelSelect, statusSelect, requesterInput),
    summary,
    body,
    pager,
  );

  function onFilter(name: keyof typeof filters) {
    return (event: Event) => {
      filters[name] = (event.target as HTMLInputElement).value.trim().toLowerCase();
      void refresh();
    };
  }

  function turn(by: number) {
    page = Math.max(0, page + by);
    void refresh();
  }

  function matches(row: RequestRow): boolean {
    return (
      (!filters.model || modelName(row.modelId).toLowerCase() === filters.model) &&
      (!filters.status || row.state === filters.status) &&
      (!filters.requester || row.requester.toLowerCase() === filters.requester)
    );
  }

  async function refresh() {
    const { total, rows } = await chain.requestsPage(page, PAGE_SIZE);
    for (const name of new Set(rows.map((row) => modelName(row.modelId)))) {
      if (![...modelSelect.querySelectorAll("option")].some((option) => option.textContent === name))
        modelSelect.append(h("option", { value: name.toLowerCase() }, name));
    }
    const shown = rows.filter(matches);
    summary.textContent =
      total === 0n
        ? 'No requests yet. Send one: npm run sibyl -- request --model language-id "Hola"'
        : `${total} requests in all; page ${page + 1} shows ${rows.length} (${shown.length} match the filters).`;
    body.replaceChildren(
      h(
        "table",
        { "data-testid": "requests" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ...["id", "model", "requester", "status", "operator", "age", "latency", "output"].map((name) =>
              h("th", {}, name),
            ),
          ),
        ),
        h(
          "tbody",
          {},
          ...shown.map((row) =>
            h(
              "tr",
              { "data-request-id": String(row.id) },
              h("td", {}, h("a", { href: `#/request/${row.id}` }, `#${row.id}`)),
              h("td", {}, modelName(row.modelId)),
              h("td", { title: row.requester }, short(row.requester)),
              h(
                "td",
                {
                  class: `state ${row.state}`,
                  ...(row.result && row.result.batch === undefined
                    ? { title: "delivered; its proof is pending (committed in the onchain queue)" }
                    : {}),
                },
                row.result && row.result.batch === undefined ? `${row.state}, proof pending` : row.state,
              ),
              h("td", { title: row.operator }, short(row.operator)),
              h("td", {}, duration(Math.max(0, row.age))),
              h("td", {}, row.latency === undefined ? "" : duration(row.latency)),
              h("td", { class: "output" }, outputPreview(row.result)),
            ),
          ),
        ),
      ),
    );
  }

  return { element, live: () => page === 0, refresh };
}
