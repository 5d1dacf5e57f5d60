import { defineConfig } from "vite";

/**
 * The dashboard: a static single-page app. Preact's JSX through Vite's own esbuild (no
 * framework plugin needed). `VITE_API_URL` / `VITE_WS_URL` are baked in at build by infra;
 * without them the page reads `/config.json`, which the local stack serves.
 */
export default defineConfig({
  root: import.meta.dirname,
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", sourcemap: false },
  // The page never needs Node's globals; a module that reaches for them should fail the build, not the browser.
  define: { "process.env.NODE_ENV": JSON.stringify("production") },
  server: { host: "127.0.0.1" },
  logLevel: "warn",
});
