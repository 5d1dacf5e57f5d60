import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Metafile } from "esbuild";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Bundle, buildBundles, chunksOf, composition, packageOf } from "../../../scripts/build.ts";
import { importInFreshProcess } from "../../../scripts/bundle-probe.ts";
import { handlers, type LinkName } from "../src/handlers.ts";

/**
 * What a handler's init may load (its entry and static chunks, built as SST builds each
 * function; `pnpm bench:bundles` prints the figures), a little over what each loads today and
 * never over issue 10's 500 KB. The DynamoDB client (~235 KB with the SDK's core) loads
 * everywhere; ElectroDB (~170 KB: its entity and transaction code, without its index,
 * jsonschema or the lib-dynamodb it requires; infra/esbuild-plugins.mjs) only where a handler
 * queries an entity: the socket bookkeeping, subscribing (a task read by id, its events by
 * page), the realtime fan-out, webhook deliveries, receiving nudges, dispatching (claiming,
 * starting and failing a task) and the PR comment with webhook queueing use plain commands
 * (250-280 KB); the reconciler and the Api query (465-495 KB). The Api loads each route's domain
 * beyond tasks (approvals, nudges, webhooks, GitHub commands, AG-UI, the OpenAPI generator)
 * on that route's first call.
 */
const HANDLER_BUDGET_BYTES: Record<keyof typeof handlers, number> = {
  Api: 500 * 1024,
  Dispatch: 280 * 1024,
  DlqDrain: 280 * 1024,
  WsConnect: 268 * 1024,
  WsDisconnect: 268 * 1024,
  WsDefault: 280 * 1024,
  EventsFanout: 272 * 1024,
  EventsGithub: 296 * 1024,
  WebhookDeliver: 276 * 1024,
  NudgesPush: 276 * 1024,
  Reconcile: 488 * 1024,
};
/** Handlers whose reads and writes are all plain commands, so load no ElectroDB at init. */
const WITHOUT_ELECTRODB = [
  "WsConnect",
  "WsDisconnect",
  "WsDefault",
  "EventsFanout",
  "WebhookDeliver",
  "NudgesPush",
  "Dispatch",
  "DlqDrain",
  "EventsGithub",
];
/**
 * The agent is no Lambda (no cold start to pay per request): it ships in a container beside the
 * ~400 MB Claude Code binary, and carries the Claude Agent SDK (about 1.4 MB) for the claude brain.
 */
const AGENT_BUDGET_BYTES = 3 * 1024 * 1024;
/**
 * Clients only a port's first call loads (core.ts imports each adapter then): no handler's
 * init may load one, nor the SDK's SSO/STS credential clients, which Lambda never uses.
 */
const LOADED_ON_FIRST_CALL = [
  "@aws-sdk/client-sqs",
  "@aws-sdk/client-bedrock-agentcore",
  "@aws-sdk/client-apigatewaymanagementapi",
  "@octokit/core",
  "bottleneck",
  "@aws-sdk/nested-clients",
];
/** The client a link's port calls through. */
const CLIENT_OF: Partial<Record<LinkName, string>> = {
  TaskQueue: "@aws-sdk/client-sqs",
  WebhookQueue: "@aws-sdk/client-sqs",
  AgentRuntime: "@aws-sdk/client-bedrock-agentcore",
  Realtime: "@aws-sdk/client-apigatewaymanagementapi",
  GitHubToken: "@octokit/core",
};
/** Loose on purpose (shared CI machines): a bundle that does real work at import takes seconds. */
const IMPORT_BUDGET_MS = 1_000;

const out = mkdtempSync(join(tmpdir(), "conveyor-bundle-test-"));
let bundles: Bundle[];
let metafile: Metafile;
beforeAll(async () => {
  ({ bundles, metafile } = await buildBundles(out));
}, 60_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

const bundleOf = (name: string) => bundles.find((b) => b.name === name)!;

describe("pnpm build", () => {
  test("bundles every handler in handlers.ts, and the agent", () => {
    expect(bundles.map((b) => b.name).sort()).toEqual([...Object.keys(handlers), "Agent"].sort());
    expect(bundleOf("Agent").bytes).toBeLessThan(AGENT_BUDGET_BYTES);
  });

  test.each(Object.keys(handlers))(
    "%s loads at init no more than its budget, and no client a port loads on first call",
    (name) => {
      const bundle = bundleOf(name);
      expect(bundle.bytes).toBeLessThan(HANDLER_BUDGET_BYTES[name as keyof typeof handlers]);
      const loaded = composition(metafile, bundle.file).map(([pkg]) => pkg);
      expect(loaded).toContain("@aws-sdk/client-dynamodb");
      if (WITHOUT_ELECTRODB.includes(name)) expect(loaded).not.toContain("electrodb");
      for (const pkg of LOADED_ON_FIRST_CALL) expect(loaded, pkg).not.toContain(pkg);
      // Init is the entry, one chunk and esbuild's helpers (each file costs Node ~0.6 ms;
      // infra/esbuild-plugins.mjs), and no builtin only a lazily loaded part uses (zlib: the
      // SDK's CRC32, ~4 ms to load).
      const init = chunksOf(metafile, bundle.file).loaded;
      expect(init.length).toBeLessThanOrEqual(3);
      const builtins = init.flatMap((key) => metafile.outputs[key]!.imports.filter((i) => i.external));
      expect(builtins.map((i) => i.path)).not.toContain("node:zlib");
      // Split out, not dropped: each linked port's client ships in a chunk its first call loads.
      const onDemand = new Set(
        chunksOf(metafile, bundle.file).lazy.flatMap((key) =>
          Object.keys(metafile.outputs[key]!.inputs).map(packageOf),
        ),
      );
      for (const link of handlers[name as keyof typeof handlers].links) {
        const client = CLIENT_OF[link];
        if (client) expect(onDemand, `${link}: ${client}`).toContain(client);
      }
    },
  );

  test("no handler bundles @ag-ui/core or zod; the Api loads its OpenAPI generator on demand", () => {
    const packages = (keys: string[]) =>
      new Set(keys.flatMap((key) => Object.keys(metafile.outputs[key]!.inputs).map(packageOf)));
    for (const name of Object.keys(handlers)) {
      const { loaded, lazy } = chunksOf(metafile, bundleOf(name).file);
      const all = packages([...loaded, ...lazy]);
      for (const pkg of ["@ag-ui/core", "zod", "zod-to-json-schema"])
        expect(all, `${name}: ${pkg}`).not.toContain(pkg);
    }
    const api = chunksOf(metafile, bundleOf("Api").file);
    expect(packages(api.loaded)).not.toContain("@valibot/to-json-schema");
    expect(packages(api.lazy)).toContain("@valibot/to-json-schema");
  });

  test.each(Object.keys(handlers))(
    "%s loads in a fresh node, exports an async handler of fewer than 3 parameters, touches no network",
    async (name) => {
      const probe = await importInFreshProcess(bundleOf(name).file);
      expect(probe).toMatchObject({ type: "function", async: true, network: [] });
      // Hono's `handle(app)` takes (event, context); Node 24 refuses only callback-style (3).
      expect(probe.length).toBeLessThanOrEqual(name === "Api" ? 2 : 1);
      expect(probe.importMs).toBeLessThan(IMPORT_BUDGET_MS);
    },
  );

  test("the probe catches a bundle that connects at import or takes a callback", async () => {
    const bad = join(out, "bad.mjs");
    writeFileSync(
      bad,
      [
        "try { await fetch('http://127.0.0.1:9/'); } catch {}",
        `await import("node:net").then((net) => { try { net.connect(9, "127.0.0.1"); } catch {} });`,
        "export const handler = function (event, context, callback) { callback(null, event); };",
      ].join("\n"),
    );
    const probe = await importInFreshProcess(bad);
    expect(probe.network).toEqual(["fetch", "net.connect"]);
    expect(probe).toMatchObject({ length: 3, async: false });
    writeFileSync(
      bad,
      "await fetch('http://127.0.0.1:9/');\nexport const handler = async () => undefined;\n",
    );
    await expect(importInFreshProcess(bad)).rejects.toThrow(/network I\/O while importing: fetch/);
  });

  test("the agent bundle (agent/Dockerfile's entry) serves /ping", async () => {
    let child: ChildProcess | undefined;
    try {
      child = spawn(process.execPath, [bundleOf("Agent").file], {
        env: {
          PATH: process.env.PATH ?? "",
          PORT: "0",
          HOST: "127.0.0.1",
          CONVEYOR_TASKS_TABLE: "tasks",
          CONVEYOR_EVENTS_TABLE: "events",
          CONVEYOR_NUDGES_TABLE: "nudges",
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      // Its log says where it listens: one JSON line, INFO on stdout.
      const port = await new Promise<number>((resolve, reject) => {
        let out = "";
        let err = "";
        child!.stdout!.on("data", (d) => {
          out += d;
          const line = out.split("\n").find((l) => l.includes('"message":"agent listening"'));
          if (line) resolve(JSON.parse(line).port);
        });
        child!.stderr!.on("data", (d) => {
          err += d;
        });
        child!.on("exit", (code) => reject(new Error(`agent exited ${code}: ${out}${err}`)));
      });
      const ping = await fetch(`http://127.0.0.1:${port}/ping`);
      expect(ping.status).toBe(200);
      expect(await ping.json()).toMatchObject({ status: "Healthy" });
    } finally {
      child?.kill("SIGTERM");
    }
  });
});
