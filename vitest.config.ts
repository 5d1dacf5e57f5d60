import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      // Powertools then writes through the global console, which `silent` below can hold back.
      POWERTOOLS_DEV: "true",
    },
    // Handler logs are for operators; show them only for failing tests.
    silent: "passed-only",
    projects: [
      {
        test: {
          name: "unit",
          include: ["packages/*/src/**/*.test.ts", "infra/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["packages/*/test/**/*.test.ts"],
          // DynamoDB Local and the SQS server start once per run; each file gets its own table prefix.
          globalSetup: ["packages/local/test/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // `expect.poll` waits on the stack, a browser or an agent: 1 s (vitest's default) is
          // a tight timeout on a loaded machine; a condition that holds arrives well within this.
          expect: { poll: { timeout: 20_000 } },
          pool: "forks",
        },
      },
    ],
  },
});
