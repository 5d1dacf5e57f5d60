/**
 * Links a GitHub login to a Conveyor user of a deployed stage, so that person's `/conveyor`
 * comments act as that user (or removes the link with --unlink). Run it under `sst shell`,
 * which hands this process the stage's links (the Tasks table) and AWS credentials:
 *
 *   npx sst shell --stage production -- pnpm tsx scripts/link-github.ts --login octocat --tenant acme --user alice
 *   npx sst shell --stage production -- pnpm tsx scripts/link-github.ts --login octocat --unlink
 *
 * The local stack takes CONVEYOR_GITHUB_USERS=login:user,... instead.
 */
import { parseArgs } from "node:util";
import { GitHubCommand } from "@conveyor/core/github-command";
import { useCore } from "../packages/functions/src/config.ts";

const { values } = parseArgs({
  options: {
    login: { type: "string" },
    tenant: { type: "string" },
    user: { type: "string" },
    unlink: { type: "boolean", default: false },
  },
});
if (!values.login || (!values.unlink && (!values.tenant || !values.user))) {
  console.error(
    "usage: link-github.ts --login <github login> (--tenant <tenantId> --user <userId> | --unlink)",
  );
  process.exit(2);
}
if (values.unlink) {
  await GitHubCommand.unlink(useCore(), values.login);
  console.log(`GitHub ${values.login} is no longer linked`);
} else {
  await GitHubCommand.link(useCore(), values.login, { tenantId: values.tenant!, userId: values.user! });
  console.log(`GitHub ${values.login} -> ${values.tenant}/${values.user}`);
}
