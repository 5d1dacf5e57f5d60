import { existsSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = import.meta.dirname;
/** What the page is built from: a change to any of these makes the build stale. */
const SOURCES = [
  join(root, "src"),
  join(root, "index.html"),
  join(root, "vite.config.ts"),
  join(root, "../client/src"),
];
export const DIST = join(root, "dist");
const STAMP = ".built";

/**
 * The dashboard's static files, built with Vite when there is no build or a source changed
 * since (a second or two), so `pnpm start` works from a fresh clone. The build goes to a
 * temporary directory first and is swapped in whole: a concurrent reader never sees half of it.
 *
 * @example const distDir = await ensureWebBuild(); // then serve distDir
 */
export async function ensureWebBuild(opts: { force?: boolean; env?: Record<string, string> } = {}) {
  if (!opts.force && !stale()) return DIST;
  const { build } = await import("vite");
  const tmp = `${DIST}.${process.pid}.${Date.now()}`;
  const saved = { ...process.env };
  Object.assign(process.env, opts.env ?? {});
  try {
    await build({ configFile: join(root, "vite.config.ts"), build: { outDir: tmp, emptyOutDir: true } });
  } finally {
    for (const key of Object.keys(opts.env ?? {})) if (!(key in saved)) delete process.env[key];
  }
  writeFileSync(join(tmp, STAMP), new Date().toISOString());
  const old = `${tmp}.old`;
  try {
    if (existsSync(DIST)) renameSync(DIST, old);
    renameSync(tmp, DIST);
  } catch (error) {
    // Another process swapped its own fresh build in meanwhile: that one will do.
    if (!existsSync(join(DIST, STAMP))) throw error;
    rmSync(tmp, { recursive: true, force: true });
  }
  rmSync(old, { recursive: true, force: true });
  return DIST;
}

function stale() {
  const stamp = join(DIST, STAMP);
  if (!existsSync(stamp) || !existsSync(join(DIST, "index.html"))) return true;
  const built = statSync(stamp).mtimeMs;
  return SOURCES.some((path) => newest(path) > built);
}

function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}
