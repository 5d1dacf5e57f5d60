export { type ApprovalRequest, type Approvals, Bell, createApprovals } from "./approvals.ts";
export { ClaudeConfig, claude, toolPolicy } from "./claude/index.ts";
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
export { BRAINS, type BrainName, defaultBrain, selectBrain } from "./select.ts";
export { type AgentServer, serveAgent } from "./server.ts";
