/**
 * Imports a Lambda bundle in a fresh `node` process, as the runtime's init does, and reports
 * what it exports and how long the import took. A preloaded guard makes every way out to
 * the network (net/tls sockets, http(s) requests, DNS, fetch) throw and records the attempt,
 * so a bundle that connects anywhere while loading is caught even if it swallows the error.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export interface Probe {
  /** `typeof handler`. */
  type: string;
  /** `handler.length`: Node 24's runtime refuses 3 (callback style). */
  length: number;
  /** `handler` is an `async` function. */
  async: boolean;
  importMs: number;
  /** Network calls attempted while importing (and on the next ticks). */
  network: string[];
}

const GUARD = `
import { syncBuiltinESMExports } from "node:module";
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
const attempts = (globalThis.__networkAttempts = []);
const deny = (what) =>
  function () {
    attempts.push(what);
    throw new Error("network I/O while importing: " + what);
  };
for (const [mod, prefix, names] of [
  [net, "net", ["connect", "createConnection"]],
  [tls, "tls", ["connect"]],
  [http, "http", ["request", "get"]],
  [https, "https", ["request", "get"]],
  [dns, "dns", ["lookup", "resolve", "resolve4", "resolve6"]],
]) {
  for (const name of names) mod[name] = deny(prefix + "." + name);
}
dns.promises.lookup = deny("dns.promises.lookup");
globalThis.fetch = deny("fetch");
syncBuiltinESMExports();
`;

const PROBE = `
const started = performance.now();
const mod = await import(process.argv[2]);
const importMs = performance.now() - started;
await new Promise((resolve) => setTimeout(resolve, 20));
const handler = mod.handler;
process.stdout.write(JSON.stringify({
  type: typeof handler,
  length: handler?.length ?? -1,
  async: handler?.constructor?.name === "AsyncFunction",
  importMs,
  network: globalThis.__networkAttempts,
}));
`;

let dir: string | undefined;
function scripts() {
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), "conveyor-probe-"));
    writeFileSync(join(dir, "guard.mjs"), GUARD);
    writeFileSync(join(dir, "probe.mjs"), PROBE);
  }
  return { guard: join(dir, "guard.mjs"), probe: join(dir, "probe.mjs") };
}

/** Imports `bundle` in a fresh node with no links and no AWS configuration in its environment. */
export function importInFreshProcess(bundle: string): Promise<Probe> {
  const { guard, probe } = scripts();
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", pathToFileURL(guard).href, probe, pathToFileURL(bundle).href],
      {
        env: { PATH: process.env.PATH ?? "", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`importing ${bundle} exited ${code}: ${err.trim()}`));
      try {
        resolve(JSON.parse(out) as Probe);
      } catch {
        reject(new Error(`importing ${bundle} printed ${out} ${err}`));
      }
    });
  });
}
