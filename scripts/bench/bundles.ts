/**
 * Each Lambda bundle's size (what importing it loads: the entry and its static chunks; what
 * only `import()` reaches is shown apart), cold import time (median over fresh `node`
 * processes) and largest dependency among what it loads, from `pnpm build`'s esbuild metafile.
 *
 * Beside them, the floor (scripts/bench/floor.ts): the DynamoDB document client alone, built
 * the same way. Rounds interleave every bundle, so a busy spell on the machine lands on all of
 * them alike; "over floor" is what a handler adds to what the SDK alone costs right then.
 *
 * With BEFORE=<dir>, the bundles an earlier revision built into <dir> are imported in the
 * same rounds and each handler is printed against its earlier self: a ratio that holds across
 * machines, where an absolute figure holds only on the machine and day it was taken.
 *
 *   pnpm bench:bundles        (RUNS=15 for more samples)
 *   git worktree add /tmp/before <rev> && (cd /tmp/before && pnpm install && OUT=/tmp/before-bundles pnpm build)
 *   BEFORE=/tmp/before-bundles pnpm bench:bundles
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { buildBundles, composition } from "../build.ts";
import { importInFreshProcess } from "../bundle-probe.ts";

const RUNS = Number(process.env.RUNS ?? 7);
/** Issue 10's cold-start targets for every Lambda handler: what its init loads, and its import time. */
const TARGET_BYTES = 500 * 1024;
const TARGET_MS = 50;
const FLOOR = "(floor)";
const out = process.env.OUT ?? mkdtempSync(join(tmpdir(), "conveyor-bundles-"));
const { bundles, metafile } = await buildBundles(out, [
  { name: FLOOR, src: resolve(import.meta.dirname, "floor.ts") },
]);
const lambdas = bundles.filter((b) => b.name !== "Agent");

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

/** A handler's bundle as an earlier revision built it: one file per handler then, a directory now. */
const before = new Map<string, string>();
if (process.env.BEFORE) {
  for (const bundle of lambdas) {
    const path = relative(out, dirname(bundle.file));
    const file = [join(process.env.BEFORE, `${path}.mjs`), join(process.env.BEFORE, path, "bundle.mjs")].find(
      existsSync,
    );
    if (file) before.set(bundle.name, file);
  }
}

const times = new Map(lambdas.map((b) => [b.name, [] as number[]]));
const beforeTimes = new Map([...before.keys()].map((name) => [name, [] as number[]]));
for (let round = 0; round < RUNS; round++) {
  for (const bundle of lambdas) {
    times.get(bundle.name)!.push((await importInFreshProcess(bundle.file)).importMs);
    const earlier = before.get(bundle.name);
    if (earlier) beforeTimes.get(bundle.name)!.push((await importInFreshProcess(earlier)).importMs);
  }
}
const floor = median(times.get(FLOOR)!);

console.log(`${RUNS} fresh processes per bundle, interleaved, node ${process.version}\n`);
console.log(
  `${"bundle".padEnd(16)} ${"size".padStart(9)} ${"on demand".padStart(10)} ${"import p50".padStart(11)} ${"over floor".padStart(11)}  ${"target".padEnd(13)} largest dependency`,
);
const misses: string[] = [];
for (const bundle of lambdas) {
  const [largest] = composition(metafile, bundle.file);
  const ms = median(times.get(bundle.name)!);
  const isFloor = bundle.name === FLOOR;
  const target = isFloor
    ? "(reference)"
    : [bundle.bytes <= TARGET_BYTES ? "size ok" : "SIZE", ms <= TARGET_MS ? "ms ok" : "MS"].join(" ");
  if (!isFloor && (bundle.bytes > TARGET_BYTES || ms > TARGET_MS)) misses.push(bundle.name);
  console.log(
    `${bundle.name.padEnd(16)} ${`${(bundle.bytes / 1024).toFixed(0)} KB`.padStart(9)} ${`+${(bundle.lazyBytes / 1024).toFixed(0)} KB`.padStart(10)} ${`${ms.toFixed(0)} ms`.padStart(11)} ${(isFloor ? "" : `${ms >= floor ? "+" : ""}${(ms - floor).toFixed(0)} ms`).padStart(11)}  ${target.padEnd(13)} ${largest?.[0]} (${((largest?.[1] ?? 0) / 1024).toFixed(0)} KB, ${(((largest?.[1] ?? 0) / bundle.bytes) * 100).toFixed(0)}%)`,
  );
}
console.log(
  misses.length === 0
    ? `\nevery handler within ${TARGET_BYTES / 1024} KB and ${TARGET_MS} ms`
    : `\nover ${TARGET_BYTES / 1024} KB or ${TARGET_MS} ms: ${misses.join(", ")}`,
);
if (before.size > 0) {
  console.log(`\nagainst ${process.env.BEFORE}, same rounds:`);
  for (const [name, xs] of beforeTimes) {
    const was = median(xs);
    const now = median(times.get(name)!);
    console.log(
      `${name.padEnd(16)} ${`${was.toFixed(0)} ms`.padStart(8)} -> ${`${now.toFixed(0)} ms`.padStart(6)}  (${(now / was).toFixed(2)}x)`,
    );
  }
}
const agent = bundles.find((b) => b.name === "Agent")!;
console.log(`\nagent (agent/Dockerfile) ${(agent.bytes / 1024 / 1024).toFixed(2)} MB`);
console.log(`bundles in ${out}`);
