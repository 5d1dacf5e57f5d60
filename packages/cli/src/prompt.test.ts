import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { lineFrom } from "./prompt.ts";

describe("lineFrom", () => {
  it("answers one typed line per read", async () => {
    const input = new PassThrough();
    const read = lineFrom(input);

    const first = read(new AbortController().signal);
    input.write("y\n");
    const answered = await first;
    const second = read(new AbortController().signal);
    input.write("\n");

    expect(answered).toBe("y");
    expect(await second).toBe("");
  });

  it("answers undefined at the end of input and when the read is called off", async () => {
    const ended = new PassThrough();
    const atEnd = lineFrom(ended)(new AbortController().signal);
    ended.end();
    const stop = new AbortController();
    const calledOff = lineFrom(new PassThrough())(stop.signal);
    stop.abort();

    expect(await atEnd).toBeUndefined();
    expect(await calledOff).toBeUndefined();
  });
});
