import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build, type Plugin } from "esbuild";

/**
 * Packages that locate files of their own at run time (the Claude Agent SDK spawns the
 * Claude Code binary it ships beside itself): bundled, they would look beside the bundle.
 */
export const RUNTIME_EXTERNALS = ["@anthropic-ai/claude-agent-sdk"];

export interface AgentBundleOptions {
  /** The agent's entry module (TypeScript is fine). */
  entry: string;
  /** Where bundles and their manifests are kept. Default `<tmpdir>/conveyor-agent`. */
  cacheDir?: string;
  /** Imported from where they are installed instead of bundled. Default RUNTIME_EXTERNALS. */
  external?: string[];
}

interface Manifest {
  bundle: string;
  /** Every file the bundle was built from, with the hash of its content. */
  inputs: Record<string, string>;
}

const sha = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

/**
 * The agent's entry bundled into one ESM file, so a session's process starts with plain
 * `node <bundle>` instead of compiling TypeScript on every spawn. The bundle is rebuilt
 * only when the content of a file it was built from changed (checked by hash), and its
 * name is the hash of its own content, so concurrent stacks never clash. External packages
 * are imported by absolute URL, so the bundle runs from any folder.
 *
 * @example
 * const bundle = await bundleAgent({ entry: require.resolve("@conveyor/agent-kit/main") });
 * spawn(process.execPath, [bundle]);
 */
export async function bundleAgent(opts: AgentBundleOptions): Promise<string> {
  const cacheDir = opts.cacheDir ?? join(tmpdir(), "conveyor-agent");
  mkdirSync(cacheDir, { recursive: true });
  // One manifest per entry path: checkouts side by side keep their own bundles.
  const manifestFile = join(
    cacheDir,
    `${sha(`${opts.entry}\0${(opts.external ?? []).join()}`).slice(0, 16)}.json`,
  );
  const cached = readManifest(manifestFile);
  if (cached && unchanged(cached, cacheDir)) return join(cacheDir, cached.bundle);

  const result = await build({
    entryPoints: [opts.entry],
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    write: false,
    metafile: true,
    logLevel: "silent",
    // Bundled CommonJS (the AWS SDK's) calls require(), which an ES module lacks.
    banner: {
      js: 'import { createRequire as __bundleRequire } from "node:module"; const require = __bundleRequire(import.meta.url);',
    },
    plugins: [installedPackages(opts.external ?? RUNTIME_EXTERNALS)],
  });
  const code = result.outputFiles[0]!.contents;
  const bundle = `agent-${sha(code).slice(0, 16)}.mjs`;
  const inputs: Record<string, string> = {};
  for (const input of Object.keys(result.metafile.inputs)) {
    const file = resolve(input);
    inputs[file] = sha(readFileSync(file));
  }
  atomicWrite(join(cacheDir, bundle), code);
  atomicWrite(manifestFile, JSON.stringify({ bundle, inputs } satisfies Manifest));
  return join(cacheDir, bundle);
}

/** Marks each package external, imported by the absolute URL of the file it resolves to. */
function installedPackages(names: string[]): Plugin {
  const escaped = names.map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"));
  return {
    name: "installed-packages",
    setup(b) {
      if (names.length === 0) return;
      b.onResolve({ filter: new RegExp(`^(${escaped.join("|")})(/|$)`) }, async (args) => {
        if (args.pluginData === "installed") return undefined;
        const found = await b.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: "installed",
        });
        if (found.errors.length > 0) return { errors: found.errors };
        return { path: pathToFileURL(found.path).href, external: true };
      });
    },
  };
}

function readManifest(file: string): Manifest | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Manifest;
  } catch {
    return undefined;
  }
}

/** The bundle is there and every file it was built from still has the same content. */
function unchanged(manifest: Manifest, cacheDir: string) {
  if (!existsSync(join(cacheDir, manifest.bundle))) return false;
  try {
    return Object.entries(manifest.inputs).every(
      ([file, hash]) => isAbsolute(file) && sha(readFileSync(file)) === hash,
    );
  } catch {
    return false; // an input is gone
  }
}

/** Written whole or not at all: another stack may be reading the same cache. */
function atomicWrite(file: string, data: string | Uint8Array) {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}
