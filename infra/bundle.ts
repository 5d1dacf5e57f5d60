import { BUNDLE_TARGET, HANDLER_EXTERNALS } from "./pins.ts";

/**
 * How every Lambda handler is bundled, as SST's `nodejs` function args: infra/function.ts
 * passes it to each `sst.aws.Function`, and scripts/build.ts (`pnpm build`, `pnpm
 * bench:bundles`, the bundle test) builds with the same settings, so what is measured is what
 * ships. No SST globals here, so scripts and tests can import it.
 */
export const NODEJS = {
  format: "esm",
  minify: true,
  // Split at `import()`: clients a port loads on first call stay out of the init path.
  splitting: true,
  // Relative to the project root (where sst.config.ts is); SST imports it with plain `node`.
  plugins: "infra/esbuild-plugins.mjs",
  esbuild: {
    target: BUNDLE_TARGET,
    // SST's default, spelled out because scripts/build.ts reads it from here.
    mainFields: ["module", "main"],
    // Off (SST's default is on): ~25 KB less per handler. Nothing reads an inferred class or
    // function name: the SDK's, valibot's and our errors set `name` themselves, and
    // Powertools compares a processor's class name only in its synchronous path, unused here.
    keepNames: false,
    external: HANDLER_EXTERNALS,
  },
} as const;
