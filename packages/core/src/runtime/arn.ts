/**
 * The `AgentRuntime` secret's placeholder (infra/agent.ts): an ARN in an account that cannot
 * exist, so the IAM grant made from it reaches nothing, and the runtime client can say
 * "not set" instead of calling AgentCore. Its own module: infra reads it without the SDK.
 */
export const UNSET_RUNTIME_ARN = "arn:aws:bedrock-agentcore:us-east-1:000000000000:runtime/unset";
