import { z } from "zod";

/** Where a secret lives. Anything else is refused, so a secret pasted here is never echoed back. */
export const envVarName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be the name of an environment variable, not the secret itself");
