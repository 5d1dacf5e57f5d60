/**
 * The esbuild plugins every Lambda bundle is built with. `pnpm build` (scripts/build.ts) and
 * the deploy (SST's `nodejs.plugins`, set in infra/bundle.ts) load this one file, so the
 * bundle `pnpm bench:bundles` measures is the bundle that ships. Plain JavaScript: SST imports
 * it with the `node` that runs the deploy.
 *
 * SST runs these through a stub (platform/functions/nodejs-runtime/plugin.mjs in SST 4.17)
 * that tests each filter against the string "undefined" instead of the path and ignores
 * `namespace`: so every filter here matches anything and each callback checks for itself.
 */
import { dirname, join } from "node:path";

const NAMESPACE = "conveyor-bundle";
const ELECTRODB = /[\\/]node_modules[\\/]electrodb[\\/]/;

/** The lib-dynamodb commands ElectroDB's v3 client wrapper constructs (electrodb/src/client.js). */
const ELECTRODB_COMMANDS = [
  "GetCommand",
  "PutCommand",
  "UpdateCommand",
  "DeleteCommand",
  "BatchWriteCommand",
  "BatchGetCommand",
  "ScanCommand",
  "QueryCommand",
  "TransactWriteCommand",
  "TransactGetCommand",
];
/**
 * What packages/core takes from ElectroDB, and the file of ElectroDB's that defines each. Its
 * index requires every module it has (Service, conversions and the rest); these two files
 * require what they need.
 */
const ELECTRODB_EXPORTS = { Entity: "src/entity.js", createWriteTransaction: "src/transaction.js" };

/** The virtual modules below, by the `kind` in their path's suffix. */
const MODULES = {
  /**
   * ElectroDB `require`s all of `@aws-sdk/lib-dynamodb`, and a `require` keeps every export:
   * the aggregated `DynamoDBDocument` and every command. This module re-exports only the
   * commands ElectroDB constructs, resolved from ElectroDB's own directory (the very package
   * ElectroDB would have loaded).
   */
  "lib-dynamodb": () => `export { ${ELECTRODB_COMMANDS.join(", ")} } from "@aws-sdk/lib-dynamodb";\n`,
  /** `electrodb` as packages/core imports it: only what it uses, from the files that define it. */
  electrodb: (dir) =>
    Object.entries(ELECTRODB_EXPORTS)
      .map(([name, file]) => `exports.${name} = require(${JSON.stringify(join(dir, file))}).${name};`)
      .join("\n"),
};

/**
 * Lambda bundles carry only the ElectroDB and lib-dynamodb code that runs: the imports above
 * become the virtual modules, everything else resolves as usual. Tests and the local stack
 * run the packages as published, so behaviour is the same code either way.
 */
export function slimElectroDb() {
  return {
    name: "slim-electrodb",
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.namespace !== "file") return undefined;
        if (args.path === "@aws-sdk/lib-dynamodb" && ELECTRODB.test(args.importer ?? "")) {
          return { path: `${dirname(args.importer)}/lib-dynamodb`, namespace: NAMESPACE };
        }
        if (args.path === "electrodb" && !ELECTRODB.test(args.importer ?? "")) {
          return { path: `${args.resolveDir}/electrodb`, namespace: NAMESPACE };
        }
        return undefined;
      });
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, async (args) => {
        if (args.namespace !== NAMESPACE) return undefined;
        const kind = args.path.slice(args.path.lastIndexOf("/") + 1);
        const from = dirname(args.path);
        if (kind === "lib-dynamodb") return { contents: MODULES[kind](), resolveDir: from, loader: "js" };
        // Where packages/core resolves `electrodb` to: its package directory.
        const { createRequire } = await import("node:module");
        const dir = dirname(createRequire(join(from, "index.js")).resolve("electrodb/package.json"));
        return { contents: MODULES.electrodb(dir), resolveDir: dir, loader: "js" };
      });
    },
  };
}

export default [slimElectroDb()];
