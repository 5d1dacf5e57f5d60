import { api } from "./api.ts";
import { realtime } from "./realtime.ts";

/**
 * The dashboard (packages/web): static files in S3 behind CloudFront. It talks only to the
 * HTTP API and the WebSocket API, whose URLs are baked into the build; the browser keeps the
 * token, so the site itself holds no secret and needs no function.
 */
export const web = new sst.aws.StaticSite("Web", {
  path: "packages/web",
  build: { command: "pnpm exec vite build", output: "dist" },
  environment: { VITE_API_URL: api.url, VITE_WS_URL: realtime.url },
});
