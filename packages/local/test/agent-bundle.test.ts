import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bundleAgent } from "../src/agent-bundle.ts";

describe("bundleAgent", () => {
  // The entry lives in this package, so `ws` resolves from its node_modules; the bundles do not.
  const source = mkdtempSync(join(import.meta.dirname, "bundle-entry-"));
  const cacheDir = mkdtempSync(join(tmpdir(), "conveyor-bundle-"));
  const entry = join(source, "main.ts");
  const write = (greeting: string) => {
    writeFileSync(
      join(source, "greeting.ts"),
      `export const greeting: string = ${JSON.stringify(greeting)};\n`,
    );
    writeFileSync(
      entry,
      [
        'import { WebSocketServer } from "ws";',
        'import { greeting } from "./greeting.ts";',
        "console.log(JSON.stringify({ greeting, external: typeof WebSocketServer }));",
      ].join("\n"),
    );
  };
  const run = (bundle: string) =>
    JSON.parse(execFileSync(process.execPath, [bundle], { cwd: cacheDir, encoding: "utf8" }));
  afterAll(() => {
    rmSync(source, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it("runs with plain node from outside the project, its externals imported from where they are installed", async () => {
    write("hello");
    const bundle = await bundleAgent({ entry, cacheDir, external: ["ws"] });
    expect(bundle.startsWith(cacheDir)).toBe(true);
    expect(run(bundle)).toEqual({ greeting: "hello", external: "function" });
    const code = readFileSync(bundle, "utf8");
    expect(code).toMatch(/from "file:\/\/[^"]*\/ws\/[^"]*"/);
    expect(code).not.toContain("class WebSocketServer");
  });

  it("is built again only when a file it was built from changed", async () => {
    write("hello");
    const first = await bundleAgent({ entry, cacheDir, external: ["ws"] });
    const builtAt = statSync(first).mtimeMs;
    expect(await bundleAgent({ entry, cacheDir, external: ["ws"] })).toBe(first);
    expect(statSync(first).mtimeMs).toBe(builtAt);

    write("hello again");
    const second = await bundleAgent({ entry, cacheDir, external: ["ws"] });
    expect(second).not.toBe(first);
    expect(run(second)).toEqual({ greeting: "hello again", external: "function" });
  });
});
