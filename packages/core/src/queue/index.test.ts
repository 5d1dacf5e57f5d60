import { describe, expect, it } from "vitest";
import { Message } from "./index.ts";

describe("Message", () => {
  it("reads back what the queue sends", () => {
    expect(Message.decode(Message.encode("01M80A6R8REXYA6GNV4VJ8FN8P"))).toEqual({
      taskId: "01M80A6R8REXYA6GNV4VJ8FN8P",
    });
  });

  it.each(["not json", "{}", '{"taskId":""}', '{"taskId":7}'])("refuses %s", (body) => {
    expect(() => Message.decode(body)).toThrow();
  });
});
