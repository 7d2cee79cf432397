/**
 * zod's complaints as people read them: one `path: reason` per problem, with the path from the root of
 * what the user wrote (e.g. `models.1.baseURL: Invalid url`), instead of a ZodError's JSON dump.
 */
import type { ZodError } from "zod";

export function issueLines(error: ZodError, prefix = ""): string[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join(".");
    return `${path || "(root)"}: ${issue.message}`;
  });
}
