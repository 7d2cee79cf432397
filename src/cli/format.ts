/** How the CLI names things it prints. */
import { ResultStatus } from "../shared/encoding.js";

const STATUS_NAMES = Object.fromEntries(Object.entries(ResultStatus).map(([name, value]) => [value, name]));

export function statusName(status: number): string {
  return STATUS_NAMES[status] ?? `status ${status}`;
}
