/** Charts of the newest requests and batches: latency over time, gas per result by batch size, requests per minute by model. */
import { type Chain, modelName } from "../chain.js";
import { chart, type Series } from "../charts.js";
import { h } from "../dom.js";
import type { View } from "./view.js";

const RECENT_REQUESTS = 200;
const RECENT_BATCHES = 50;

export function chartsView(chain: Chain): View {
  const body = h("div", { class: "charts" });
  const element = h(
    "section",
    {},
    h("h2", {}, "Charts"),
    h("p", { class: "muted" }, `From the newest ${RECENT_REQUESTS} requests and ${RECENT_BATCHES} batches.`),
    body,
  );

  async function refresh() {
    const [{ rows }, batches] = await Promise.all([
      chain.requestsPage(0, RECENT_REQUESTS),
      chain.batches(RECENT_BATCHES),
    ]);
    const time = (seconds: number) => new Date(seconds * 1000).toISOString().slice(11, 19);

    const latency = rows.flatMap((row) =>
      row.latency === undefined ? [] : [[row.requestedAt, row.latency] as [number, number]],
    );

    const gasBySize = new Map<number, number[]>();
    for (const batch of batches) {
      if (batch.gasUsed === undefined) continue;
      const size = Number(batch.batchSize);
      gasBySize.set(size, [...(gasBySize.get(size) ?? []), Number(batch.gasUsed / batch.count)]);
    }
    const gas: Series[] = [
      {
        label: "mean gas per result",
        points: [...gasBySize].map(([size, values]) => [
          size,
          values.reduce((a, b) => a + b, 0) / values.length,
        ]),
      },
    ];

    const perMinute = new Map<string, Map<number, number>>();
    for (const row of rows) {
      const name = modelName(row.modelId);
      const minute = Math.floor(row.requestedAt / 60) * 60;
      const counts = perMinute.get(name) ?? new Map<number, number>();
      counts.set(minute, (counts.get(minute) ?? 0) + 1);
      perMinute.set(name, counts);
    }

    body.replaceChildren(
      chart({
        title: "End-to-end latency (request block → result block)",
        xLabel: "requested at (UTC)",
        yLabel: "seconds",
        series: [{ label: "answered requests", points: latency }],
        kind: "dots",
        formatX: time,
      }),
      chart({
        title: "Gas per result by batch size",
        xLabel: "batch size",
        yLabel: "gas",
        series: gas,
        kind: "bars",
      }),
      chart({
        title: "Requests per minute by model",
        xLabel: "minute (UTC)",
        yLabel: "requests",
        series: [...perMinute].map(([label, counts]) => ({ label, points: [...counts] })),
        kind: "bars",
        formatX: time,
      }),
    );
  }

  return { element, live: () => true, refresh };
}
