export { breakerFor, CircuitBreaker, createProgress, isPermanent, type Progress } from "./progress.ts";
export {
  AgentCancelled,
  type AgentContext,
  AgentFailure,
  type AgentResult,
  type Brain,
  runTask,
} from "./run.ts";
export { scripted } from "./scripted.ts";
export { type AgentServer, serveAgent } from "./server.ts";
