import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { Actor } from "../actor.ts";
import { defaultLimits } from "../config.ts";
import { createCore } from "../core.ts";
import { Webhook } from "./index.ts";
import { post } from "./post.ts";
import { checkTarget, isPrivateAddress, parseTarget } from "./target.ts";

describe("webhook targets in the cloud (public mode)", () => {
  it("refuses private, loopback, link-local and unique-local addresses", () => {
    for (const address of [
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "127.0.0.1",
      "169.254.169.254",
      "0.0.0.0",
      "::1",
      "fc00::1",
      "fd12:3456::1",
      "fe80::1",
      "::ffff:10.0.0.1",
      "::ffff:127.0.0.1",
    ])
      expect(isPrivateAddress(address), address).toBe(true);
    for (const address of ["8.8.8.8", "172.32.0.1", "1.1.1.1", "2606:4700:4700::1111"])
      expect(isPrivateAddress(address), address).toBe(false);
  });

  it("takes only https, without credentials, and no private IP literal", () => {
    expect(parseTarget("https://hooks.example.com/x", "public").href).toBe("https://hooks.example.com/x");
    expect(() => parseTarget("http://hooks.example.com/x", "public")).toThrow(/https/);
    expect(() => parseTarget("https://user:pw@hooks.example.com/", "public")).toThrow(/credentials/);
    expect(() => parseTarget("https://10.0.0.7/hook", "public")).toThrow(/private/);
    expect(() => parseTarget("https://[::1]/hook", "public")).toThrow(/private/);
    expect(() => parseTarget("not a url", "public")).toThrow(/absolute/);
  });

  it("refuses a name that resolves to a private address", async () => {
    await expect(checkTarget("https://localhost/hook", "public")).rejects.toMatchObject({
      kind: "input",
      code: "webhook.target",
    });
  });

  it("lets the local stack use http on 127.0.0.1", async () => {
    expect((await checkTarget("http://127.0.0.1:9/hook", "local")).host).toBe("127.0.0.1:9");
    expect(() => parseTarget("ftp://127.0.0.1/", "local")).toThrow(/http/);
  });

  it("refuses the subscription before storing anything", async () => {
    const core = createCore({
      region: "us-east-1",
      tables: { tasks: "t", events: "e", nudges: "n", connections: "c" },
      queues: { task: "", dlq: "", webhook: "" },
      endpoints: { dynamodb: "http://127.0.0.1:9" },
      runtimeArn: "",
      limits: defaultLimits,
      webhookTargets: "public",
    });
    const user = { type: "user", tenantId: "t1", userId: "u1" } as const;
    for (const url of ["http://example.com/hook", "https://127.0.0.1/hook", "https://localhost/hook"]) {
      await expect(Actor.provide(user, () => Webhook.create(core, { url }))).rejects.toMatchObject({
        code: "webhook.target",
      });
    }
  });

  it("refuses at delivery too: a name resolving to loopback is never connected to", async () => {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      // In public mode http is refused outright; the lookup guard is what stops an https name.
      const plain = await post(
        `http://localhost:${port}/`,
        "{}",
        {},
        { mode: "public", timeoutMs: 2_000, now: Date.now },
      );
      expect(plain).toMatchObject({ refused: true });
      const named = await post(
        `https://localhost:${port}/`,
        "{}",
        {},
        { mode: "public", timeoutMs: 2_000, now: Date.now },
      );
      expect(named).toMatchObject({ refused: true });
      expect(named.error).toMatch(/private address/);
      expect(hits).toBe(0);
      // The same receiver is reachable in local mode.
      const local = await post(
        `http://localhost:${port}/`,
        "{}",
        {},
        { mode: "local", timeoutMs: 2_000, now: Date.now },
      );
      expect(local.statusCode).toBe(200);
      expect(hits).toBe(1);
    } finally {
      server.close();
    }
  });
});
