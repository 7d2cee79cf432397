/**
 * Crash points for fault tests. With SIBYL_CRASH_AT=<point>[:<n>] in the environment, the node kills
 * itself with SIGKILL the n-th time (default 1st) it reaches <point>: the kill -9 of an operator's bad
 * day, at a chosen step of the pipeline. Unset, every call is a no-op.
 */
import { SibylError } from "../shared/errors.js";

export const CRASH_POINTS = [
  "after-read", // requests committed to the store, nothing run yet
  "during-model", // a model call started
  "after-answer", // an answer committed, not yet batched
  "during-proving", // a batch committed and its proof under way
  "after-send", // a transaction broadcast, its receipt not yet seen
  "after-receipt", // a transaction mined, the node not yet told
  "after-delivery", // results delivered without their proof, none of it proven yet
  "during-pending-proof", // a proof of delivered results under way
] as const;

export type CrashPoint = (typeof CRASH_POINTS)[number];

export type CrashAt = (point: CrashPoint) => void;

export function crashPointsFrom(env: NodeJS.ProcessEnv): CrashAt {
  const setting = env.SIBYL_CRASH_AT;
  if (!setting) return () => undefined;
  const [point, nth = "1"] = setting.split(":");
  if (!CRASH_POINTS.includes(point as CrashPoint) || !/^\d+$/.test(nth)) {
    throw new SibylError(
      `SIBYL_CRASH_AT: expected one of ${CRASH_POINTS.join(", ")} with an optional :<n>, got ${setting}`,
    );
  }
  let remaining = Number(nth);
  return (reached) => {
    if (reached === point && --remaining === 0) process.kill(process.pid, "SIGKILL");
  };
}
