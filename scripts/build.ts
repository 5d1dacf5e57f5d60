/**
 * `pnpm build`: bundles every handler in packages/functions/src/handlers.ts the way SST does
 * for a Node Lambda (pkg/runtime/node/build.go in SST's source: ESM, platform node, minified,
 * names kept, `module` before `main`, sharp and pg-native external, the createRequire /
 * __filename / __dirname banner) with the settings and esbuild plugins infra/bundle.ts gives
 * every function (ES2023, split at `import()` as `nodejs.splitting` does, ElectroDB slimmed
 * by infra/esbuild-plugins.mjs), each on its own as SST does, into
 * `dist/functions/<file>/bundle.mjs` and its chunks; and the reference agent (agent-kit's main) into
 * `dist/agent/main.mjs`, the one file agent/Dockerfile ships. The esbuild metafile goes
 * beside them (`dist/meta.json`) for scripts/bench/bundles.ts.
 *
 *   pnpm build              (OUT=dir to write elsewhere)
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type BuildOptions, build, type Metafile, type Plugin } from "esbuild";
import { NODEJS } from "../infra/bundle.ts";
import plugins from "../infra/esbuild-plugins.mjs";
import { handlers } from "../packages/functions/src/handlers.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** SST's banner for ESM functions: bundled CommonJS dependencies still find `require` and friends. */
export const BANNER = [
  `import { createRequire as topLevelCreateRequire } from 'module';`,
  `const require = topLevelCreateRequire(import.meta.url);`,
  `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
  `const __filename = topLevelFileUrlToPath(import.meta.url)`,
  `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
].join("\n");

export interface Bundle {
  /** A handler's name in handlers.ts, or `Agent`. */
  name: string;
  file: string;
  /** What importing `file` loads: the entry and the chunks it imports statically. */
  bytes: number;
  /** Chunks loaded only through `import()`, on first use of what they hold (never, for most). */
  lazyBytes: number;
}

/**
 * `plugins` as SST runs them for a function (its bridge: platform/functions/nodejs-runtime/
 * plugin.mjs and pkg/runtime/node/plugin.go in SST 4.17): `setup` gets only `onResolve`,
 * `onLoad` and `onEnd`, never `initialOptions` or `resolve`; a callback sees only the
 * arguments the bridge passes; every callback is tried in order and the first answer wins. So
 * a plugin that needs more than SST gives fails here, not at deploy.
 */
function asSstRuns(plugins: Plugin[]): Plugin {
  type Callback = (args: Record<string, unknown>) => unknown;
  return {
    name: "sst-bridge",
    setup(build) {
      const resolvers: Callback[] = [];
      const loaders: Callback[] = [];
      const stub = {
        onResolve: (_: unknown, callback: Callback) => resolvers.push(callback),
        onLoad: (_: unknown, callback: Callback) => loaders.push(callback),
        onEnd: () => {},
      };
      for (const plugin of plugins) void plugin.setup(stub as never);
      const first = async (callbacks: Callback[], args: Record<string, unknown>) => {
        for (const callback of callbacks) {
          const reply = await callback(args);
          if (reply) return reply as never;
        }
        return undefined;
      };
      build.onResolve(
        { filter: /.*/ },
        ({ path, importer, namespace, resolveDir, kind, pluginData, with: w }) =>
          first(resolvers, { path, importer, namespace, resolveDir, kind, pluginData, with: w }),
      );
      build.onLoad({ filter: /.*/ }, ({ path, namespace, suffix, pluginData, with: w }) =>
        first(loaders, { path, namespace, suffix, pluginData, with: w }),
      );
    },
  };
}

/** SST's fixed options, and the ones infra/bundle.ts sets for every function (and its plugins). */
const OPTIONS = {
  bundle: true,
  platform: "node",
  format: NODEJS.format,
  target: NODEJS.esbuild.target,
  minify: NODEJS.minify,
  keepNames: NODEJS.esbuild.keepNames,
  mainFields: [...NODEJS.esbuild.mainFields],
  external: ["sharp", "pg-native", ...NODEJS.esbuild.external],
  banner: { js: BANNER },
  metafile: true,
  logLevel: "warning",
  absWorkingDir: ROOT,
  outExtension: { ".js": ".mjs" },
  plugins: [asSstRuns(plugins)],
} as const satisfies BuildOptions;

/**
 * Bundles everything into `outDir`; returns each bundle and the metafile. Each handler is its
 * own esbuild build, as SST builds each function: `functions/<file>/bundle.mjs` and its chunks
 * beside it. They are split at `import()` (SST's `nodejs.splitting`): a port's client and the
 * SDK's credential providers other than the environment's load only when called, so each
 * handler's init loads the clients its code reaches and nothing else. (One build of all the
 * handlers would load more: esbuild puts a file in the chunks of every entry whose imports
 * reach it, and one handler's lazy client then shares chunks with another's init.) The agent
 * stays one file for its image. `extra` entries are built as a handler is, into `extra/<name>/`.
 */
export async function buildBundles(outDir = join(ROOT, "dist"), extra: { name: string; src: string }[] = []) {
  rmSync(join(outDir, "functions"), { recursive: true, force: true });
  rmSync(join(outDir, "agent"), { recursive: true, force: true });
  rmSync(join(outDir, "extra"), { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const entries = [
    ...Object.entries(handlers).map(([name, h]) => ({
      name,
      src: join(ROOT, "packages/functions/src", `${h.file}.ts`),
      dir: join(outDir, "functions", h.file),
    })),
    // Built exactly as a handler is (scripts/bench/floor.ts, for comparison).
    ...extra.map(({ name, src }) => ({ name, src, dir: join(outDir, "extra", name) })),
  ];
  const functions = await Promise.all(
    entries.map(({ src, dir }) =>
      build({
        ...OPTIONS,
        entryPoints: { bundle: src },
        outdir: dir,
        splitting: NODEJS.splitting,
      }),
    ),
  );
  const agent = await build({
    ...OPTIONS,
    // One file, not split: nothing to gather into one init chunk.
    plugins: [asSstRuns(plugins.filter((p) => p.name !== "one-init-chunk"))],
    entryPoints: { "agent/main": join(ROOT, "packages/agent-kit/src/main.ts") },
    outdir: outDir,
    splitting: false,
  });
  const metafile: Metafile = { inputs: {}, outputs: {} };
  for (const { metafile: m } of [...functions, agent]) {
    Object.assign(metafile.inputs, m.inputs);
    Object.assign(metafile.outputs, m.outputs);
  }
  writeFileSync(join(outDir, "meta.json"), JSON.stringify(metafile));
  const files = [
    ...entries.map(({ name, dir }) => ({ name, file: join(dir, "bundle.mjs") })),
    { name: "Agent", file: join(outDir, "agent/main.mjs") },
  ];
  const bundles: Bundle[] = files.map(({ name, file }) => {
    const { loaded, lazy } = chunksOf(metafile, file);
    const size = (keys: string[]) => keys.reduce((sum, k) => sum + statSync(resolve(ROOT, k)).size, 0);
    return { name, file, bytes: size(loaded), lazyBytes: size(lazy) };
  });
  return { bundles, metafile };
}

/** The metafile key of an output file. */
function outputKey(metafile: Metafile, outFile: string) {
  const key = Object.keys(metafile.outputs).find((k) => resolve(ROOT, k) === resolve(outFile));
  if (!key) throw new Error(`${outFile} is not in the metafile`);
  return key;
}

/**
 * The outputs importing `outFile` loads (itself and its static imports, transitively), and
 * those only reachable through `import()` from them.
 */
export function chunksOf(metafile: Metafile, outFile: string) {
  const loaded = new Set<string>();
  const lazy = new Set<string>();
  const visit = (key: string, into: Set<string>) => {
    if (loaded.has(key) || into.has(key)) return;
    into.add(key);
    for (const { path, kind, external } of metafile.outputs[key]!.imports) {
      if (external || !metafile.outputs[path]) continue;
      visit(path, kind === "dynamic-import" ? lazy : into);
    }
  };
  visit(outputKey(metafile, outFile), loaded);
  for (const key of loaded) lazy.delete(key);
  return { loaded: [...loaded], lazy: [...lazy] };
}

/** The package each output byte came from (`@aws-sdk/client-dynamodb`, `hono`, or `(app) packages/core`). */
export function packageOf(input: string): string {
  const parts = input.split("node_modules/");
  if (parts.length > 1) {
    const path = parts[parts.length - 1]!.split("/");
    return path[0]!.startsWith("@") ? `${path[0]}/${path[1]}` : path[0]!;
  }
  const [first, second] = input.split("/");
  return first === "packages" ? `(app) packages/${second}` : `(app) ${first}`;
}

/** Bytes importing one bundle loads (its entry and static chunks), by package, largest first. */
export function composition(metafile: Metafile, outFile: string) {
  const bytes = new Map<string, number>();
  for (const key of chunksOf(metafile, outFile).loaded) {
    for (const [input, { bytesInOutput }] of Object.entries(metafile.outputs[key]!.inputs)) {
      const pkg = packageOf(input);
      bytes.set(pkg, (bytes.get(pkg) ?? 0) + bytesInOutput);
    }
  }
  return [...bytes].sort((a, b) => b[1] - a[1]);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.env.OUT ?? join(ROOT, "dist"));
  const started = performance.now();
  const { bundles } = await buildBundles(out);
  for (const b of bundles) {
    console.log(
      `${b.name.padEnd(16)} ${(b.bytes / 1024).toFixed(0).padStart(6)} KB (+${(b.lazyBytes / 1024).toFixed(0)} KB on demand)  ${relative(ROOT, b.file)}`,
    );
  }
  console.log(`${bundles.length} bundles in ${Math.round(performance.now() - started)} ms`);
}
