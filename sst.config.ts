/// <reference path="./.sst/platform/config.d.ts" />

/**
 * Conveyor on AWS. Production keeps its data and refuses `sst remove`; every other stage
 * (pr-<number> previews, personal stages) is removed whole. Each concern is one file in
 * infra/; what they must add up to is checked by infra/test/contract.test.ts.
 */
export default $config({
  app(input) {
    const production = input?.stage === "production";
    return {
      name: "conveyor",
      home: "aws",
      removal: production ? "retain" : "remove",
      protect: production,
    };
  },
  async run() {
    await import("./infra/storage");
    await import("./infra/secrets");
    await import("./infra/queue");
    const realtime = await import("./infra/realtime");
    const agent = await import("./infra/agent");
    const api = await import("./infra/api");
    await import("./infra/cron");
    await import("./infra/streams");
    const alarms = await import("./infra/alarms");
    const web = await import("./infra/web");
    return {
      api: api.api.url,
      ws: realtime.realtime.url,
      web: web.web.url,
      alarms: alarms.alarmTopic.arn,
      ...(agent.AGENT_IMAGE ? { agentRuntime: agent.agentRuntime.arn } : {}),
    };
  },
});
