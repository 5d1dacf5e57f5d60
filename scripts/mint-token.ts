/**
 * Mints an API token for a user of a deployed stage, until the CLI has an admin command
 * for it (DESIGN §12.12). Run it under `sst shell`, which hands this process the stage's
 * links (the Tasks table) and AWS credentials:
 *
 *   npx sst shell --stage pr-12 -- pnpm tsx scripts/mint-token.ts --tenant acme --user alice
 *
 * Prints the token, once: only its SHA-256 is stored.
 */
import { parseArgs } from "node:util";
import { Auth } from "@conveyor/core/auth";
import { useCore } from "../packages/functions/src/config.ts";

const { values } = parseArgs({
  options: { tenant: { type: "string" }, user: { type: "string" }, name: { type: "string" } },
});
if (!values.tenant || !values.user) {
  console.error("usage: mint-token.ts --tenant <tenantId> --user <userId> [--name <label>]");
  process.exit(2);
}
const token = await Auth.mint(useCore(), {
  tenantId: values.tenant,
  userId: values.user,
  name: values.name ?? "minted with scripts/mint-token.ts",
});
console.log(token);
