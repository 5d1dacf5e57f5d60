/**
 * Each Lambda bundle's size (what importing it loads: the entry and its static chunks; what
 * only `import()` reaches is shown apart), cold import time (median over fresh `node`
 * processes) and largest dependency among what it loads, from `pnpm build`'s esbuild metafile.
 *
 *   pnpm bench:bundles        (RUNS=15 for more samples)
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBundles, composition } from "../build.ts";
import { importInFreshProcess } from "../bundle-probe.ts";

const RUNS = Number(process.env.RUNS ?? 7);
/** Issue 10's cold-start targets for every Lambda handler: what its init loads, and its import time. */
const TARGET_BYTES = 500 * 1024;
const TARGET_MS = 50;
const out = process.env.OUT ?? mkdtempSync(join(tmpdir(), "conveyor-bundles-"));
const { bundles, metafile } = await buildBundles(out);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

console.log(`${RUNS} fresh processes per bundle, node ${process.version}\n`);
console.log(
  `${"bundle".padEnd(16)} ${"size".padStart(9)} ${"on demand".padStart(10)} ${"import p50".padStart(11)}  ${"target".padEnd(13)} largest dependency`,
);
const misses: string[] = [];
for (const bundle of bundles.filter((b) => b.name !== "Agent")) {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) times.push((await importInFreshProcess(bundle.file)).importMs);
  const [largest] = composition(metafile, bundle.file);
  const ms = median(times);
  const target = [bundle.bytes <= TARGET_BYTES ? "size ok" : "SIZE", ms <= TARGET_MS ? "ms ok" : "MS"];
  if (bundle.bytes > TARGET_BYTES || ms > TARGET_MS) misses.push(bundle.name);
  console.log(
    `${bundle.name.padEnd(16)} ${`${(bundle.bytes / 1024).toFixed(0)} KB`.padStart(9)} ${`+${(bundle.lazyBytes / 1024).toFixed(0)} KB`.padStart(10)} ${`${ms.toFixed(0)} ms`.padStart(11)}  ${target.join(" ").padEnd(13)} ${largest?.[0]} (${((largest?.[1] ?? 0) / 1024).toFixed(0)} KB, ${(((largest?.[1] ?? 0) / bundle.bytes) * 100).toFixed(0)}%)`,
  );
}
console.log(
  misses.length === 0
    ? `\nevery handler within ${TARGET_BYTES / 1024} KB and ${TARGET_MS} ms`
    : `\nover ${TARGET_BYTES / 1024} KB or ${TARGET_MS} ms: ${misses.join(", ")}`,
);
const agent = bundles.find((b) => b.name === "Agent")!;
console.log(`\nagent (agent/Dockerfile) ${(agent.bytes / 1024 / 1024).toFixed(2)} MB`);
console.log(`bundles in ${out}`);
