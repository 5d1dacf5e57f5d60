import type { AgUiEvent } from "./ag-ui.ts";

/**
 * What an AG-UI client checks of a whole run's stream (@ag-ui/client verifies the same
 * order): RUN_STARTED first, RUN_FINISHED or RUN_ERROR last, and every message, tool call and
 * step that starts also ends, once. Returns the problems in words; none for a good stream.
 */
export function sequenceProblems(events: readonly AgUiEvent[]): string[] {
  const problems: string[] = [];
  if (events[0]?.type !== "RUN_STARTED") problems.push(`first is ${events[0]?.type}, not RUN_STARTED`);
  const end = events.at(-1)?.type;
  if (end !== "RUN_FINISHED" && end !== "RUN_ERROR")
    problems.push(`last is ${end}, not RUN_FINISHED/RUN_ERROR`);
  const open = new Map<string, Set<string>>([
    ["message", new Set()],
    ["tool call", new Set()],
    ["step", new Set()],
  ]);
  const start = (kind: string, id: string) => {
    if (open.get(kind)!.has(id)) problems.push(`${kind} ${id} started twice`);
    open.get(kind)!.add(id);
  };
  const within = (kind: string, id: string, what: string) => {
    if (!open.get(kind)!.has(id)) problems.push(`${what} for ${kind} ${id}, which is not open`);
  };
  const finish = (kind: string, id: string) => {
    if (!open.get(kind)!.delete(id)) problems.push(`${kind} ${id} ended without a start`);
  };
  events.forEach((e, i) => {
    if (e.type.startsWith("RUN_") && i !== 0 && i !== events.length - 1) problems.push(`${e.type} at ${i}`);
    if (e.type === "TEXT_MESSAGE_START") start("message", e.messageId);
    if (e.type === "TEXT_MESSAGE_CONTENT") within("message", e.messageId, "content");
    if (e.type === "TEXT_MESSAGE_END") finish("message", e.messageId);
    if (e.type === "TOOL_CALL_START") start("tool call", e.toolCallId);
    if (e.type === "TOOL_CALL_ARGS") within("tool call", e.toolCallId, "args");
    if (e.type === "TOOL_CALL_END") finish("tool call", e.toolCallId);
    if (e.type === "STEP_STARTED") start("step", e.stepName);
    if (e.type === "STEP_FINISHED") finish("step", e.stepName);
  });
  for (const [kind, ids] of open) for (const id of ids) problems.push(`${kind} ${id} never ended`);
  return problems;
}
