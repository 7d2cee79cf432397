import assert from "node:assert/strict";
import { describe, it } from "mocha";
import { register as globalRegistry } from "prom-client";
import { createMetrics } from "../../../src/node/observe/metrics.js";
import { sampleValue } from "./prometheus.js";

describe("createMetrics", () => {
  it("registers every node metric under the sibyl_ prefix next to the process defaults", async () => {
    const { registry } = createMetrics();
    const names = (await registry.getMetricsAsJSON()).map((metric) => metric.name);

    for (const name of [
      "sibyl_jobs",
      "sibyl_model_latency_seconds",
      "sibyl_proof_seconds",
      "sibyl_batch_size",
      "sibyl_gas_used_total",
      "sibyl_errors_total",
      "sibyl_head_lag_blocks",
      "sibyl_requests_total",
      "sibyl_submitted_batches_total",
    ]) {
      assert.ok(names.includes(name), `${name} is not registered`);
    }
    assert.ok(names.includes("process_cpu_user_seconds_total"), "default metrics are missing");
  });

  it("records observations as Prometheus samples", async () => {
    const metrics = createMetrics();
    metrics.batchSize.observe(4);
    metrics.batchSize.observe(16);
    metrics.modelLatency.observe({ model: "llama", status: "ok" }, 0.3);
    metrics.submittedBatches.inc({ outcome: "success" });
    metrics.gasUsed.inc({ kind: "fulfill" }, 212_345);
    metrics.headLag.set(3);

    const text = await metrics.registry.metrics();
    assert.equal(sampleValue(text, 'sibyl_batch_size_bucket{le="2"}'), 0);
    assert.equal(sampleValue(text, 'sibyl_batch_size_bucket{le="4"}'), 1);
    assert.equal(sampleValue(text, 'sibyl_batch_size_bucket{le="64"}'), 2);
    assert.equal(sampleValue(text, "sibyl_batch_size_sum"), 20);
    assert.equal(sampleValue(text, 'sibyl_model_latency_seconds_count{model="llama",status="ok"}'), 1);
    assert.equal(sampleValue(text, 'sibyl_submitted_batches_total{outcome="success"}'), 1);
    assert.equal(sampleValue(text, 'sibyl_gas_used_total{kind="fulfill"}'), 212_345);
    assert.equal(sampleValue(text, "sibyl_head_lag_blocks"), 3);
  });

  it("gives each call its own registry, apart from prom-client's global one", async () => {
    const first = createMetrics();
    const second = createMetrics();
    first.requestsTotal.inc({ model: "llama" }, 2);
    second.requestsTotal.inc({ model: "llama" }, 5);

    assert.notEqual(first.registry, second.registry);
    assert.equal(sampleValue(await first.registry.metrics(), 'sibyl_requests_total{model="llama"}'), 2);
    assert.equal(sampleValue(await second.registry.metrics(), 'sibyl_requests_total{model="llama"}'), 5);
    assert.equal(globalRegistry.getSingleMetric("sibyl_requests_total"), undefined);
  });
});
