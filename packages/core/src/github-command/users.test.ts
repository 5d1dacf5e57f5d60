import { describe, expect, it } from "vitest";
import { Config } from "../config.ts";

describe("CONVEYOR_GITHUB_USERS", () => {
  it("links logins (case-insensitive) to users, tenant local unless named", () => {
    expect(Config.parseUsers("Octo-Dev:dev, bob:acme/alice")).toEqual({
      "octo-dev": { tenantId: "local", userId: "dev" },
      bob: { tenantId: "acme", userId: "alice" },
    });
    expect(Config.parseUsers(undefined)).toBeUndefined();
    expect(Config.parseUsers(" ")).toBeUndefined();
  });

  it("fails loudly on an entry it cannot read", () => {
    expect(() => Config.parseUsers("octocat")).toThrow(/CONVEYOR_GITHUB_USERS entry "octocat"/);
    expect(() => Config.parseUsers("a b:dev")).toThrow();
  });

  it("survives the trip to an agent's environment and back", () => {
    const env = { CONVEYOR_TASKS_TABLE: "t", CONVEYOR_EVENTS_TABLE: "e", CONVEYOR_NUDGES_TABLE: "n" };
    const config = Config.fromEnv({ ...env, CONVEYOR_GITHUB_USERS: "octo:dev", GITHUB_WEBHOOK_SECRET: "s" });
    const out = Config.toEnv(config);
    expect(Config.fromEnv(out).github?.users).toEqual({ octo: { tenantId: "local", userId: "dev" } });
    // The webhook secret, like the token, never goes to an agent.
    expect(Object.values(out)).not.toContain("s");
  });
});
