/**
 * Asks a person at a terminal for a secret (a keystore's password): the terminal is put in raw mode so
 * nothing typed is echoed, not even as asterisks, and restored whatever happens.
 */
import { SibylError } from "../shared/errors.js";

export class PromptCancelledError extends SibylError {
  override name = "PromptCancelledError";
}

/** What the prompt needs of a terminal: process.stdin when it is one. */
export interface TerminalInput {
  readonly isTTY?: boolean;
  setRawMode(mode: boolean): unknown;
  on(event: "data", listener: (chunk: Buffer | string) => void): unknown;
  off(event: "data", listener: (chunk: Buffer | string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

const CTRL_C = "\u0003";
const CTRL_D = "\u0004";
const BACKSPACES = new Set(["\u007f", "\b"]);

/**
 * Writes `question` to `output` and resolves with the line typed on `input` (without its newline).
 * Ctrl-C or Ctrl-D on an empty line rejects with a PromptCancelledError: in raw mode the terminal sends
 * them as characters instead of signalling the process.
 */
export function readHiddenLine(
  question: string,
  input: TerminalInput = process.stdin as TerminalInput,
  output: NodeJS.WritableStream = process.stderr,
): Promise<string> {
  if (!input.isTTY)
    return Promise.reject(new PromptCancelledError("not a terminal: cannot ask for a secret"));
  output.write(question);
  input.setRawMode(true);
  input.resume();
  return new Promise((resolve, reject) => {
    let typed: string[] = [];
    const finish = () => {
      input.off("data", onData);
      input.setRawMode(false);
      input.pause();
      output.write("\n");
    };
    const onData = (chunk: Buffer | string) => {
      for (const char of chunk.toString()) {
        if (char === "\r" || char === "\n") {
          finish();
          resolve(typed.join(""));
          return;
        }
        if (char === CTRL_C || (char === CTRL_D && typed.length === 0)) {
          finish();
          reject(new PromptCancelledError("cancelled at the password prompt"));
          return;
        }
        if (BACKSPACES.has(char)) typed = typed.slice(0, -1);
        else typed.push(char);
      }
    };
    input.on("data", onData);
  });
}
