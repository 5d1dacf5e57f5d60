import { ClientMessage } from "@conveyor/core/realtime/protocol";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { FakeGateway } from "./fake-gateway.ts";
import {
  encodeMessage,
  parseServerFrame,
  pingMessage,
  subscribeMessage,
  unsubscribeMessage,
} from "./frames.ts";

const TASK = FakeGateway.id(Date.parse("2024-05-01T12:00:00.000Z"), 9);
const EVENT = FakeGateway.event(
  TASK,
  FakeGateway.id(Date.parse("2024-05-01T12:00:01.000Z"), 1),
  "agent.turn",
  {
    turn: 1,
    text: "hi",
  },
);

describe("parseServerFrame", () => {
  it("reads every v1 frame", () => {
    expect(parseServerFrame(JSON.stringify({ type: "event", taskId: TASK, event: EVENT }))).toEqual({
      type: "event",
      taskId: TASK,
      event: EVENT,
    });
    expect(parseServerFrame(JSON.stringify({ type: "subscribed", taskId: TASK, cursor: null }))).toEqual({
      type: "subscribed",
      taskId: TASK,
      cursor: null,
    });
    expect(parseServerFrame('{"type":"unsubscribed","taskId":"t"}')).toEqual({
      type: "unsubscribed",
      taskId: "t",
    });
    expect(parseServerFrame('{"type":"pong"}')).toEqual({ type: "pong" });
    expect(parseServerFrame('{"type":"error","code":"NOT_FOUND","message":"no","taskId":"t"}')).toEqual({
      type: "error",
      code: "NOT_FOUND",
      message: "no",
      taskId: "t",
    });
  });

  it("answers undefined for junk instead of throwing", () => {
    for (const junk of [
      "",
      "not json",
      "null",
      "42",
      "[]",
      '{"type":"gossip"}',
      '{"type":"event","taskId":"t"}',
    ]) {
      expect(parseServerFrame(junk)).toBeUndefined();
    }
  });

  it("refuses an event whose id is not a ULID or whose type is unknown", () => {
    const frame = (event: object) =>
      JSON.stringify({ type: "event", taskId: TASK, event: { ...EVENT, ...event } });

    expect(parseServerFrame(frame({ eventId: "1" }))).toBeUndefined();
    expect(parseServerFrame(frame({ type: "agent.dance" }))).toBeUndefined();
  });

  it("keeps an error with a code it does not know as INTERNAL", () => {
    expect(parseServerFrame('{"type":"error","code":"TEAPOT","message":"short and stout"}')).toEqual({
      type: "error",
      code: "INTERNAL",
      message: "short and stout",
    });
  });
});

describe("message builders", () => {
  it("build messages the protocol's schema accepts", () => {
    const messages = [
      subscribeMessage(TASK),
      subscribeMessage(TASK, EVENT.eventId),
      unsubscribeMessage(TASK),
      pingMessage(),
    ];

    for (const message of messages)
      expect(v.parse(ClientMessage, JSON.parse(encodeMessage(message)))).toEqual(message);
    expect(subscribeMessage(TASK)).not.toHaveProperty("after");
    expect(encodeMessage(subscribeMessage(TASK, EVENT.eventId))).toBe(
      `{"action":"subscribe","taskId":"${TASK}","after":"${EVENT.eventId}"}`,
    );
  });
});
