import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Auth } from "@conveyor/core/auth";
import { Config } from "@conveyor/core/config";
import { type Core, createCore } from "@conveyor/core/core";
import { store } from "@conveyor/core/store";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Bundle, buildBundles } from "../../../scripts/build.ts";
import { testConfig } from "../../local/test/harness.ts";

/**
 * The Api handler as it ships, not as the tests import it: its bundle (ElectroDB slimmed by
 * infra/esbuild-plugins.mjs: no index, lib-dynamodb's commands handed over by core, no model
 * schema check) run in a fresh node against DynamoDB Local and the local SQS, through the
 * routes that write and read every way ElectroDB does (a transaction, a get, queries).
 */
const DRIVER = `
const { handler } = await import(process.argv[2]);
const token = process.argv[3];
const call = async (method, path, body) => {
  const [rawPath, rawQueryString = ""] = path.split("?");
  const res = await handler({
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString,
    headers: { authorization: "Bearer " + token, "content-type": "application/json", host: "api.test" },
    requestContext: {
      http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "test" },
      domainName: "api.test", stage: "$default", requestId: "r", routeKey: "$default",
      accountId: "000000000000", apiId: "api", time: "", timeEpoch: Date.now(),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    isBase64Encoded: false,
  }, {});
  return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
};
const submitted = await call("POST", "/v1/tasks", { repo: "acme/api", description: "bundled" });
const id = submitted.body.task.taskId;
const results = {
  submitted,
  fetched: await call("GET", "/v1/tasks/" + id),
  listed: await call("GET", "/v1/tasks"),
  nudged: await call("POST", "/v1/tasks/" + id + "/nudges", { message: "also the docs" }),
  events: await call("GET", "/v1/tasks/" + id + "/events"),
  cancelled: await call("POST", "/v1/tasks/" + id + "/cancel"),
};
process.stdout.write(JSON.stringify(results));
`;

/** A response, with what the assertions read of its body. */
interface Reply {
  status: number;
  body: {
    task: { taskId: string; status: string };
    tasks: { taskId: string }[];
    events: { type: string }[];
  };
}

const out = mkdtempSync(join(tmpdir(), "conveyor-bundle-runtime-"));
let bundles: Bundle[];
let config: Config;
let core: Core;
let token: string;
beforeAll(async () => {
  [{ bundles }, config] = await Promise.all([buildBundles(out), testConfig()]);
  core = createCore(config);
  token = await Auth.mint(core, { tenantId: "local", userId: "bundled" });
}, 120_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Runs the driver on a bundle with the links and local overrides `sst dev` would give it. */
function drive(bundle: string): Promise<Record<string, Reply>> {
  const driver = join(out, "driver.mjs");
  writeFileSync(driver, DRIVER);
  const link = (value: Record<string, unknown>) => JSON.stringify(value);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    SST_RESOURCE_App: link({ name: "conveyor", stage: "test" }),
    SST_RESOURCE_Tasks: link({ name: config.tables.tasks }),
    SST_RESOURCE_Events: link({ name: config.tables.events }),
    SST_RESOURCE_Nudges: link({ name: config.tables.nudges }),
    SST_RESOURCE_TaskQueue: link({ url: config.queues.task }),
    ...Config.toEnv(config),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [driver, pathToFileURL(bundle).href, token], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`driver exited ${code}: ${stderr}`));
      resolve(JSON.parse(stdout));
    });
  });
}

describe("the bundled Api handler", () => {
  test("submits, reads, lists, nudges, pages and cancels a task as the source does", async () => {
    const api = bundles.find((b) => b.name === "Api")!;
    const r = await drive(api.file);
    expect(r.submitted).toMatchObject({
      status: 201,
      body: { task: { repo: "acme/api", status: "SUBMITTED" } },
    });
    const { taskId } = r.submitted!.body.task;
    expect(r.fetched).toMatchObject({ status: 200, body: { task: { taskId, description: "bundled" } } });
    expect(r.listed!.status).toBe(200);
    expect(r.listed!.body.tasks.map((t) => t.taskId)).toContain(taskId);
    expect(r.nudged!.status).toBe(202);
    expect(r.events!.status).toBe(200);
    expect(r.events!.body.events.map((e) => e.type)).toContain("task.submitted");
    expect(r.cancelled).toMatchObject({ status: 202, body: { task: { taskId } } });
    // What the bundle wrote is what the unbundled store reads.
    const stored = await store(core).task.get({ taskId }).go();
    expect(stored.data).toMatchObject({ taskId, repo: "acme/api", description: "bundled" });
    expect(stored.data?.status).toBe(r.cancelled!.body.task.status);
  });
});
