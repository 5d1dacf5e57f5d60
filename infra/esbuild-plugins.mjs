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
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

const NAMESPACE = "conveyor-bundle";
const BARREL = "conveyor-barrel";
const ELECTRODB = /[\\/]node_modules[\\/]electrodb[\\/]/;
const ENDPOINT_CACHE = /[\\/]@aws-sdk[\\/]endpoint-cache[\\/]/;

/**
 * What packages/core takes from ElectroDB, and the file of ElectroDB's that defines each. Its
 * index requires every module it has (Service, conversions and the rest); these two files
 * require what they need.
 */
const ELECTRODB_EXPORTS = { Entity: "src/entity.js", createWriteTransaction: "src/transaction.js" };

/** The modules ElectroDB gets in a bundle, by what it asks for. */
const MODULES = {
  /**
   * ElectroDB `require`s all of `@aws-sdk/lib-dynamodb` (electrodb/src/client.js), and esbuild
   * cannot tree-shake what a `require` reaches: the aggregated clients, every command and its
   * schema would ship, about 60 KB. ElectroDB only constructs commands when it sends, so it
   * gets the ones packages/core/src/electrodb-commands.ts imports (the ESM way) and publishes
   * before any entity is built; the key below is that module's.
   */
  "@aws-sdk/lib-dynamodb": () => `const key = Symbol.for("conveyor.electrodb.lib-dynamodb");
module.exports = new Proxy({}, {
  get(_, name) {
    const commands = globalThis[key];
    if (commands) return commands[name];
    if (typeof name === "string" && name.endsWith("Command")) {
      throw new Error("ElectroDB sent before packages/core/src/store.ts published its lib-dynamodb commands");
    }
    return undefined;
  },
});
`,
  /**
   * ElectroDB checks each entity's model against a JSON schema when the entity is built, with
   * jsonschema (30 KB, and schema compilation at import). The models are constants and every
   * test that builds the store checks them with the real jsonschema, unbundled; in a bundle
   * the check would only repeat what the tests proved, so it finds nothing to report.
   */
  jsonschema: () => `class Validator {
  addSchema() {}
  validate() {
    return { errors: [] };
  }
}
Validator.prototype.customFormats = {};
module.exports = { Validator };
`,
  /**
   * The DynamoDB client builds an endpoint-discovery cache at construction (it never fills
   * one: discovery is off unless configured) on mnemonist's LRU cache, 5 KB with the typed
   * arrays it sizes up front. This LRU, on a Map, has the members EndpointCache calls.
   */
  "mnemonist/lru-cache": () => `class LRUCache {
  constructor(capacity) {
    this.capacity = capacity;
    this.items = new Map();
  }
  has(key) {
    return this.items.has(key);
  }
  peek(key) {
    return this.items.get(key);
  }
  get(key) {
    if (!this.items.has(key)) return undefined;
    const value = this.items.get(key);
    this.items.delete(key);
    this.items.set(key, value);
    return value;
  }
  set(key, value) {
    this.items.delete(key);
    this.items.set(key, value);
    if (this.items.size > this.capacity) this.items.delete(this.items.keys().next().value);
    return this;
  }
  clear() {
    this.items.clear();
  }
  get size() {
    return this.items.size;
  }
}
module.exports = LRUCache;
`,
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
        const fromElectroDb = ELECTRODB.test(args.importer ?? "");
        if (fromElectroDb && (args.path === "@aws-sdk/lib-dynamodb" || args.path === "jsonschema")) {
          return { path: args.path, namespace: NAMESPACE };
        }
        if (args.path === "mnemonist/lru-cache" && ENDPOINT_CACHE.test(args.importer ?? "")) {
          return { path: args.path, namespace: NAMESPACE };
        }
        if (args.path === "electrodb" && !fromElectroDb) {
          // Keyed by the package it resolves to, so every entity file shares one module.
          const dir = dirname(
            createRequire(join(args.resolveDir, "index.js")).resolve("electrodb/package.json"),
          );
          return { path: `electrodb:${dir}`, namespace: NAMESPACE };
        }
        return undefined;
      });
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => {
        if (args.namespace !== NAMESPACE) return undefined;
        if (!args.path.startsWith("electrodb:")) return { contents: MODULES[args.path](), loader: "js" };
        // The ElectroDB packages/core resolves to: its package directory.
        const dir = args.path.slice("electrodb:".length);
        return { contents: MODULES.electrodb(dir), resolveDir: dir, loader: "js" };
      });
    },
  };
}

/**
 * SDK barrels the init code imports from, and the files in them only the lazily loaded
 * clients use (SQS's query protocol, REST JSON for AgentCore and API Gateway, XML for STS).
 * esbuild splits by file: a file that a handler's init can reach through a barrel lands in a
 * chunk the init loads, even when only an `import()`ed client uses it (~35 KB per handler).
 * The DynamoDB client takes only Sha256 from the checksum barrel; its CRC32 imports
 * `node:zlib`, a builtin whose loading costs every handler 3-5 ms of init for nothing.
 */
const BARRELS = {
  "@aws-sdk/core/protocols": /^\.\/(query|xml)\/|AwsRestJsonProtocol/,
  "@smithy/core/protocols":
    /HttpBindingProtocol|ToStringShapeSerializer|FromStringShapeDeserializer|HttpIntercepting/,
  "@smithy/core/checksum": /^\.\/(crc32|md5|hash-|chunked-blob)/,
};
/** Importers on the lazy side: the clients loaded on first call, and the files BARRELS leave out. */
const LAZY =
  /[\\/]node_modules[\\/](@aws-sdk[\\/](client-sqs|client-bedrock-agentcore|client-apigatewaymanagementapi|nested-clients)|@octokit)[\\/]|[\\/]protocols[\\/](query|xml)[\\/]|[\\/]submodules[\\/]event-streams[\\/]|AwsRestJsonProtocol|HttpBindingProtocol|ToStringShapeSerializer|FromStringShapeDeserializer|HttpIntercepting/;

/**
 * Init code imports BARRELS without the files only lazily loaded clients use; the lazy side
 * gets them whole. The files kept are the same files either way (one module each), so this
 * changes which chunk a file lands in, never what runs; a name the init needs from a file
 * left out fails the build.
 */
export function initBarrels() {
  return {
    name: "init-barrels",
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        // A barrel's own imports come from its virtual module: `<barrel>:<file>`.
        const importer =
          args.namespace === BARREL ? args.importer.slice(args.importer.indexOf(":") + 1) : args.importer;
        if (args.namespace !== "file" && args.namespace !== BARREL) return undefined;
        if (!(args.path in BARRELS) || LAZY.test(importer ?? "")) return undefined;
        // The ESM barrel esbuild would pick (`module` condition): dist-es beside node's dist-cjs.
        const cjs = createRequire(importer).resolve(args.path);
        const path = cjs.replace(/([\\/])dist-cjs([\\/])/, "$1dist-es$2");
        return path === cjs ? undefined : { path: `${args.path}:${path}`, namespace: BARREL };
      });
      build.onLoad({ filter: /.*/, namespace: BARREL }, (args) => {
        const barrel = Object.keys(BARRELS).find((b) => args.path.startsWith(`${b}:`));
        if (args.namespace !== BARREL || !barrel) return undefined;
        const file = args.path.slice(barrel.length + 1);
        const lines = readFileSync(file, "utf8").split("\n");
        const kept = lines.filter((line) => !BARRELS[barrel].test(/from "([^"]+)"/.exec(line)?.[1] ?? ""));
        return { contents: kept.join("\n"), resolveDir: dirname(file), loader: "js" };
      });
    },
  };
}

const ANCHOR = "conveyor-anchor";
/**
 * The `import()`s anchored: our own and the SDK's (relative, `@conveyor/*`, `@aws-sdk/*`,
 * `@smithy/*`), ESM whose callers all take named exports. Others (bowser, standard-json and
 * the like, from the lazily loaded OpenAPI generator) may read `default`, which `export *`
 * does not carry, so they keep their plain chunks.
 */
const ANCHORED = /^(\.{1,2}\/|@conveyor\/|@aws-sdk\/|@smithy\/)/;
/** An importer in a package other than the SDK's (the last `node_modules` in its path says which). */
const OTHER_PACKAGE = /[\\/]node_modules[\\/](?!@aws-sdk[\\/]|@smithy[\\/])(?!.*[\\/]node_modules[\\/])/;

/**
 * One file for everything a handler's init loads, instead of one chunk per set of `import()`s
 * that share it. esbuild puts each module in the chunk of the entries (the handler, and each
 * `import()`ed module: lazy clients, ports, the SDK's credential providers) that reach it, so
 * a handler's init loaded 15 to 26 files, each costing Node ~0.6 ms to resolve, read, compile
 * and run SST's banner in. Here each `import()` gets a module that imports the handler first,
 * then re-exports its target (the same module, never a copy): every lazily loaded part then
 * reaches all of init, which lands in one chunk. At run time that import does nothing (the
 * handler has loaded before anything it `import()`s), so what runs is unchanged. (A top-level
 * `await import()` in a handler's init would wait on itself; there is none, and the bundle
 * test imports every handler.)
 *
 * Only for builds of one entry split at `import()` (every Lambda handler, as SST builds them;
 * scripts/build.ts leaves it out of the agent's single file). SST's plugin bridge passes
 * `path`, `importer`, `namespace`, `resolveDir` and `kind`, and carries no `pluginData` but an
 * integer: the target travels in the virtual module's path.
 */
export function oneInitChunk() {
  return {
    name: "one-init-chunk",
    setup(build) {
      /** The handler's entry module; null if the build has more than one. */
      let entry;
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === "entry-point") {
          const path = resolve(args.resolveDir, args.path);
          // A rebuild (`sst dev`) resolves the same entry again.
          entry = entry === undefined || entry === path ? path : null;
          return undefined;
        }
        if (args.kind !== "dynamic-import" || args.namespace !== "file" || !entry) return undefined;
        if (!ANCHORED.test(args.path) || OTHER_PACKAGE.test(args.importer ?? "")) return undefined;
        // Ends with the target, which names the chunk.
        return { path: [entry, args.resolveDir, args.path].join("|"), namespace: ANCHOR };
      });
      build.onLoad({ filter: /.*/, namespace: ANCHOR }, (args) => {
        if (args.namespace !== ANCHOR) return undefined;
        const [handler, resolveDir, target] = args.path.split("|");
        const contents = `import ${JSON.stringify(handler)};\nexport * from ${JSON.stringify(target)};\n`;
        return { contents, resolveDir, loader: "js" };
      });
    },
  };
}

/** Every Lambda handler's build (split at `import()`, one entry each). */
export default [slimElectroDb(), initBarrels(), oneInitChunk()];
