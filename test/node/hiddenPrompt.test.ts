/**
 * The password prompt's edges on a terminal stand-in that records its raw mode: what is typed never
 * reaches the output, backspace edits, Ctrl-C cancels, and the terminal is always given back in cooked
 * mode. (The real terminal is test/e2e/keys.test.ts's, under `script`.)
 */
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { PromptCancelledError, readHiddenLine } from "../../src/node/hiddenPrompt.js";

class FakeTerminal extends PassThrough {
  readonly isTTY = true;
  readonly rawModes: boolean[] = [];
  setRawMode(mode: boolean): this {
    this.rawModes.push(mode);
    return this;
  }
}

function outputOf(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  return { stream, text: () => text };
}

describe("readHiddenLine", () => {
  it("returns the line typed, edited by backspace, and echoes none of it", async () => {
    const terminal = new FakeTerminal();
    const output = outputOf();
    const line = readHiddenLine("Password: ", terminal, output.stream);
    terminal.write("hunter2x");
    terminal.write("\u007f");
    terminal.write("2\rignored after the line");
    assert.equal(await line, "hunter22");
    assert.equal(output.text(), "Password: \n");
    assert.deepEqual(terminal.rawModes, [true, false]);
  });

  it("takes a line ended by \\n as well, and an empty one", async () => {
    const terminal = new FakeTerminal();
    const line = readHiddenLine("Password: ", terminal, outputOf().stream);
    terminal.write("\n");
    assert.equal(await line, "");
  });

  it("cancels on Ctrl-C, and on Ctrl-D before anything is typed, giving the terminal back", async () => {
    for (const keys of ["abc\u0003", "\u0004"]) {
      const terminal = new FakeTerminal();
      const line = readHiddenLine("Password: ", terminal, outputOf().stream);
      terminal.write(keys);
      await assert.rejects(line, PromptCancelledError);
      assert.deepEqual(terminal.rawModes, [true, false]);
    }
  });

  it("refuses to ask when the input is not a terminal", async () => {
    const pipe = Object.assign(new PassThrough(), {
      isTTY: false,
      setRawMode: () => assert.fail("raw mode on a pipe"),
    });
    await assert.rejects(readHiddenLine("Password: ", pipe, outputOf().stream), /not a terminal/);
  });
});
