import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, resolveConnection } from "./config.ts";

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A project folder whose `.conveyor/local.json` holds `state`, plus a nested folder to run from. */
function project(state?: unknown, raw?: string) {
  const root = mkdtempSync(join(tmpdir(), "conveyor-cli-"));
  made.push(root);
  const nested = join(root, "packages", "app");
  mkdirSync(nested, { recursive: true });
  if (state !== undefined || raw !== undefined) {
    mkdirSync(join(root, ".conveyor"));
    writeFileSync(join(root, ".conveyor", "local.json"), raw ?? JSON.stringify(state));
  }
  return { root, nested };
}

const LOCAL = { apiUrl: "http://localhost:8787", wsUrl: "ws://localhost:8788", token: "cvy_local" };

describe("resolveConnection", () => {
  it("takes flags over the environment over local.json", () => {
    const { root } = project(LOCAL);
    const env = { CONVEYOR_API_URL: "http://env:1", CONVEYOR_TOKEN: "cvy_env" };

    expect(resolveConnection({ apiUrl: "http://flag:1", token: "cvy_flag" }, env, root)).toEqual({
      apiUrl: "http://flag:1",
      token: "cvy_flag",
    });
    expect(resolveConnection({}, env, root)).toEqual({ apiUrl: "http://env:1", token: "cvy_env" });
    expect(resolveConnection({}, {}, root)).toEqual(LOCAL);
  });

  it("fills each setting from the first place that has it", () => {
    const { root } = project(LOCAL);

    expect(resolveConnection({ token: "cvy_flag" }, { CONVEYOR_API_URL: "http://env:1" }, root)).toEqual({
      apiUrl: "http://env:1",
      token: "cvy_flag",
    });
    expect(resolveConnection({}, { CONVEYOR_TOKEN: "cvy_env" }, root)).toEqual({
      apiUrl: LOCAL.apiUrl,
      wsUrl: LOCAL.wsUrl,
      token: "cvy_env",
    });
  });

  it("finds local.json from a folder inside the project", () => {
    const { nested } = project(LOCAL);

    expect(resolveConnection({}, {}, nested).apiUrl).toBe(LOCAL.apiUrl);
  });

  it("reads local.json from CONVEYOR_STATE_DIR instead of looking up", () => {
    const { root } = project(LOCAL);
    const other = project({ ...LOCAL, apiUrl: "http://127.0.0.1:50000" });

    const connection = resolveConnection({}, { CONVEYOR_STATE_DIR: join(other.root, ".conveyor") }, root);

    expect(connection.apiUrl).toBe("http://127.0.0.1:50000");
  });

  it("treats empty variables as unset", () => {
    const { root } = project(LOCAL);

    expect(
      resolveConnection({}, { CONVEYOR_API_URL: "", CONVEYOR_TOKEN: "", CONVEYOR_WS_URL: "" }, root),
    ).toEqual(LOCAL);
  });

  it("takes the WebSocket URL from the flag, then CONVEYOR_WS_URL, then local.json", () => {
    const { root } = project(LOCAL);
    const env = { CONVEYOR_WS_URL: "wss://env/prod" };

    expect(resolveConnection({ wsUrl: "ws://flag:1" }, env, root).wsUrl).toBe("ws://flag:1");
    expect(resolveConnection({}, env, root).wsUrl).toBe("wss://env/prod");
    expect(resolveConnection({}, {}, root).wsUrl).toBe(LOCAL.wsUrl);
  });

  it("pairs local.json's WebSocket URL only with its own API URL", () => {
    const { root } = project(LOCAL);

    const connection = resolveConnection({}, { CONVEYOR_API_URL: "https://cloud.example" }, root);

    expect(connection).toEqual({ apiUrl: "https://cloud.example", token: LOCAL.token });
  });

  it("has no WebSocket URL while the local stack serves none", () => {
    const { root } = project({ ...LOCAL, wsUrl: null });

    expect(resolveConnection({}, {}, root)).toEqual({ apiUrl: LOCAL.apiUrl, token: LOCAL.token });
  });

  it("refuses a WebSocket URL that is not ws(s)", () => {
    expect(() => resolveConnection({ apiUrl: "http://x", token: "t", wsUrl: "http://x" }, {}, "/")).toThrow(
      /must start with ws:\/\/ or wss:\/\//,
    );
  });

  it("says to start the local stack or set the variables when nothing is configured", () => {
    const { root } = project();

    expect(() => resolveConnection({}, { CONVEYOR_STATE_DIR: join(root, "none") }, root)).toThrow(
      /pnpm start.*CONVEYOR_API_URL and CONVEYOR_TOKEN/,
    );
  });

  it("says which API lacks a token", () => {
    const { root } = project({ apiUrl: "http://localhost:8787" });

    expect(() => resolveConnection({}, {}, root)).toThrow(/No token for http:\/\/localhost:8787/);
  });

  it("explains an unreadable local.json", () => {
    const { root } = project(undefined, "{ not json");

    expect(() => resolveConnection({}, {}, root)).toThrow(ConfigError);
  });

  it("refuses an API URL that is not http(s)", () => {
    expect(() => resolveConnection({ apiUrl: "localhost:8787", token: "t" }, {}, "/")).toThrow(
      /must start with http/,
    );
  });
});
