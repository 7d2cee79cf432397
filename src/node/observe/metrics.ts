/**
 * Prometheus metrics for one node. Each call builds its own registry, so two nodes in one process
 * (tests, the e2e harness) never share or collide on a metric.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export interface Metrics {
  registry: Registry;
  /** Jobs the node currently holds, by lifecycle state. */
  jobsByState: Gauge<"state">;
  /** Seconds per model call; `status` tells answers from failures. */
  modelLatency: Histogram<"model" | "status">;
  proofSeconds: Histogram<"batch_size">;
  /** Results per submitted batch. */
  batchSize: Histogram;
  /** Gas paid by the operator, by transaction kind (e.g. `fulfill`). */
  gasUsed: Counter<"kind">;
  errors: Counter<"kind">;
  /** Blocks between the chain head and the last block the node processed. */
  headLag: Gauge;
  /** Answered jobs waiting because their escrow does not cover the gas at the going price. */
  unaffordableJobs: Gauge;
  /** Results delivered onchain without their proof yet (the coordinator's queue, as last read). */
  pendingLeaves: Gauge;
  requestsTotal: Counter<"model">;
  /** Transactions (fulfil, deliver, prove) by outcome: `success`, `reverted` or `replaced`. */
  submittedBatches: Counter<"outcome">;
  /** 1 while a model is stopped on this node by an operator fault, else 0. */
  modelUnavailable: Gauge<"model">;
  /** 1 while this replica leads (sends), 0 while it stands by. */
  leader: Gauge;
  /** Unix time (s) since which this replica has had its current role. */
  roleSince: Gauge;
  /** Model calls that failed for a reason that is the operator's, by model and fixed fault category. */
  operatorFaults: Counter<"model" | "fault">;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    jobsByState: new Gauge({
      name: "sibyl_jobs",
      help: "Jobs held by the node, by state",
      labelNames: ["state"],
      registers,
    }),
    modelLatency: new Histogram({
      name: "sibyl_model_latency_seconds",
      help: "Time a model took to answer one request",
      labelNames: ["model", "status"],
      // From a small local classifier up to a slow remote LLM.
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
    proofSeconds: new Histogram({
      name: "sibyl_proof_seconds",
      help: "Time to prove one batch append",
      labelNames: ["batch_size"],
      buckets: [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300],
      registers,
    }),
    batchSize: new Histogram({
      name: "sibyl_batch_size",
      help: "Results per submitted batch",
      // The circuits prove power-of-two batches only.
      buckets: [1, 2, 4, 8, 16, 32, 64],
      registers,
    }),
    gasUsed: new Counter({
      name: "sibyl_gas_used_total",
      help: "Gas used by the node's transactions, by kind",
      labelNames: ["kind"],
      registers,
    }),
    errors: new Counter({
      name: "sibyl_errors_total",
      help: "Errors the node handled, by kind",
      labelNames: ["kind"],
      registers,
    }),
    headLag: new Gauge({
      name: "sibyl_head_lag_blocks",
      help: "Chain head minus the last block the node processed",
      registers,
    }),
    unaffordableJobs: new Gauge({
      name: "sibyl_unaffordable_jobs",
      help: "Answered jobs waiting because their escrow does not cover the gas at the going price",
      registers,
    }),
    pendingLeaves: new Gauge({
      name: "sibyl_pending_leaves",
      help: "Results delivered onchain whose proof is still to come",
      registers,
    }),
    requestsTotal: new Counter({
      name: "sibyl_requests_total",
      help: "Requests the node picked up, by model",
      labelNames: ["model"],
      registers,
    }),
    submittedBatches: new Counter({
      name: "sibyl_submitted_batches_total",
      help: "Batch transactions submitted, by outcome",
      labelNames: ["outcome"],
      registers,
    }),
    modelUnavailable: new Gauge({
      name: "sibyl_model_unavailable",
      help: "1 while the model is stopped on this node by an operator fault (key, quota, server down)",
      labelNames: ["model"],
      registers,
    }),
    leader: new Gauge({
      name: "sibyl_leader",
      help: "1 while this replica leads (it alone sends), 0 while it stands by",
      registers,
    }),
    roleSince: new Gauge({
      name: "sibyl_role_since_seconds",
      help: "Unix time since which this replica has been leader or standby (see sibyl_leader)",
      registers,
    }),
    operatorFaults: new Counter({
      name: "sibyl_operator_faults_total",
      help: "Model calls that failed through the operator's fault, by model and category",
      labelNames: ["model", "fault"],
      registers,
    }),
  };
}
