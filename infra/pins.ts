/** What infra pins (function runtime, bundle, the agent's model), in a module without SST globals so tests can read it. */

/**
 * The Lambda runtime, pinned rather than left to SST's default. Node 24: Node 22 leaves
 * maintenance in April 2027 and Lambda retires nodejs22.x after that, while 24 is supported
 * to 2028; it is SST 4's own default, so `sst dev` and the docs assume it; and the one
 * incompatibility it brings (callback-style handlers are refused at init) is what the
 * contract and bundle tests check every handler for.
 */
export const RUNTIME = "nodejs24.x";
/**
 * The bundle's syntax target, pinned too. SST only honours `es20xx` names here (a `node22`
 * would be silently ignored: see pkg/runtime/node in SST's source), and defaults to ES2024
 * for nodejs24.x. ES2023 is what Node 22 runs, so the same bundle runs on either runtime
 * and matches `pnpm build` (scripts/build.ts: node22 / es2023).
 */
export const BUNDLE_TARGET = "es2023";
/**
 * Left out of every handler bundle. The OpenAPI generator (hono-openapi's standard-json and
 * standard-openapi) reaches zod's converters through `import()` for zod schemas; the API's
 * schemas are valibot, so those paths never run, and bundling them would ship ~500 KB of zod
 * in the Api's zip for nothing.
 */
export const HANDLER_EXTERNALS = ["zod", "zod/*", "zod-to-json-schema"];
/**
 * The model the agent runs on Bedrock unless `CONVEYOR_AGENT_MODEL` says otherwise: Claude
 * Sonnet through its global cross-region inference profile, which any AgentCore region can
 * call. For data that must stay in one geography, use that geography's profile (`us.`,
 * `eu.`, `apac.`) instead.
 */
export const DEFAULT_AGENT_MODEL = "global.anthropic.claude-sonnet-4-5-20250929-v1:0";
