/**
 * `pnpm build`: bundles every handler in packages/functions/src/handlers.ts the way SST does
 * for a Node Lambda (pkg/runtime/node/build.go in SST's source: ESM, platform node, minified,
 * names kept, `module` before `main`, sharp and pg-native external, the createRequire /
 * __filename / __dirname banner), targeting Node 22 / ES2023 as infra pins it, into
 * `dist/functions/<file>.mjs`; and the reference agent (agent-kit's main) into
 * `dist/agent/main.mjs`, the one file agent/Dockerfile ships. The esbuild metafile goes
 * beside them (`dist/meta.json`) for scripts/bench/bundles.ts.
 *
 *   pnpm build              (OUT=dir to write elsewhere)
 */
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Metafile } from "esbuild";
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
  bytes: number;
}

/** Bundles everything into `outDir`; returns each bundle and the metafile. */
export async function buildBundles(outDir = join(ROOT, "dist")) {
  rmSync(join(outDir, "functions"), { recursive: true, force: true });
  rmSync(join(outDir, "agent"), { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const entries: Record<string, { name: string; source: string }> = {
    ...Object.fromEntries(
      Object.entries(handlers).map(([name, h]) => [
        `functions/${h.file}`,
        { name, source: join(ROOT, "packages/functions/src", `${h.file}.ts`) },
      ]),
    ),
    "agent/main": { name: "Agent", source: join(ROOT, "packages/agent-kit/src/main.ts") },
  };
  const result = await build({
    entryPoints: Object.fromEntries(Object.entries(entries).map(([out, e]) => [out, e.source])),
    outdir: outDir,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    splitting: false,
    platform: "node",
    format: "esm",
    target: ["node22", "es2023"],
    minify: true,
    keepNames: true,
    mainFields: ["module", "main"],
    external: ["sharp", "pg-native"],
    banner: { js: BANNER },
    metafile: true,
    logLevel: "warning",
  });
  writeFileSync(join(outDir, "meta.json"), JSON.stringify(result.metafile));
  const bundles: Bundle[] = Object.entries(entries).map(([out, e]) => {
    const file = join(outDir, `${out}.mjs`);
    return { name: e.name, file, bytes: statSync(file).size };
  });
  return { bundles, metafile: result.metafile as Metafile };
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

/** Bytes in one output by package, largest first. */
export function composition(metafile: Metafile, outFile: string) {
  const key = Object.keys(metafile.outputs).find((k) => resolve(ROOT, k) === resolve(outFile));
  const output = key ? metafile.outputs[key] : undefined;
  if (!output) throw new Error(`${outFile} is not in the metafile`);
  const bytes = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const pkg = packageOf(input);
    bytes.set(pkg, (bytes.get(pkg) ?? 0) + bytesInOutput);
  }
  return [...bytes].sort((a, b) => b[1] - a[1]);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.env.OUT ?? join(ROOT, "dist"));
  const started = performance.now();
  const { bundles } = await buildBundles(out);
  for (const b of bundles) {
    console.log(
      `${b.name.padEnd(16)} ${(b.bytes / 1024).toFixed(0).padStart(6)} KB  ${relative(ROOT, b.file)}`,
    );
  }
  console.log(`${bundles.length} bundles in ${Math.round(performance.now() - started)} ms`);
}
