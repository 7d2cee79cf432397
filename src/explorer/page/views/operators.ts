/** The active operators (stake, earnings, results served) and every registered model. */
import { type Chain, modelName } from "../chain.js";
import { eth, h } from "../dom.js";
import type { View } from "./view.js";

export function operatorsView(chain: Chain): View {
  const body = h("div");
  const element = h("section", {}, h("h2", {}, "Operators and models"), body);

  async function refresh() {
    const [operators, models] = await Promise.all([chain.operators(), chain.models()]);
    const served = await chain.resultsServed(operators.map(({ operator }) => operator));
    body.replaceChildren(
      h("h3", {}, "Active operators"),
      operators.length === 0
        ? h("p", { class: "muted" }, "No active operator: requests wait until one registers.")
        : h(
            "table",
            { "data-testid": "operators" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                ...["operator", "stake", "earned, not withdrawn", "results served"].map((name) =>
                  h("th", {}, name),
                ),
              ),
            ),
            h(
              "tbody",
              {},
              ...operators.map((operator) =>
                h(
                  "tr",
                  {},
                  h("td", {}, operator.operator),
                  h("td", {}, eth(operator.stake)),
                  h("td", {}, eth(operator.balance)),
                  h("td", {}, String(served.get(operator.operator) ?? 0n)),
                ),
              ),
            ),
          ),
      h("h3", {}, "Models"),
      h(
        "table",
        { "data-testid": "models" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ...["model", "fee", "max input", "max output", "timeout", "enabled", "pinned config hash"].map(
              (name) => h("th", {}, name),
            ),
          ),
        ),
        h(
          "tbody",
          {},
          ...models.map((model) =>
            h(
              "tr",
              {},
              h("td", { title: model.modelId }, modelName(model.modelId)),
              h("td", {}, eth(model.fee)),
              h("td", {}, `${model.maxInputBytes} B`),
              h("td", {}, `${model.maxOutputBytes} B`),
              h("td", {}, `${model.timeout} s`),
              h("td", {}, model.enabled ? "yes" : "no"),
              h("td", {}, h("code", {}, model.configHash)),
            ),
          ),
        ),
      ),
    );
  }

  return { element, live: () => true, refresh };
}
