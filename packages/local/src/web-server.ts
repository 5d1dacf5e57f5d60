import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize, sep } from "node:path";
import { claimPort } from "./ports.ts";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
};

export interface WebServerOptions {
  /** The dashboard's build (`packages/web/dist`). */
  distDir: string;
  /** 0 picks a free port. */
  port: number;
  /** What the page talks to: served as `/config.json` (the cloud build has them baked in instead). */
  apiUrl: string;
  wsUrl: string;
}

/**
 * Serves the dashboard as a static site would (CloudFront in the cloud): files from the build,
 * `index.html` for any other path so `/tasks/<taskId>` opens in the page, and `/config.json`
 * with the stack's URLs, which change with `--port`.
 *
 * @example
 * const web = await startWebServer({ distDir, port: 8790, apiUrl, wsUrl });
 * console.log(`${web.url}/tasks/${taskId}`);
 * await web.stop();
 */
export async function startWebServer(opts: WebServerOptions) {
  const port = await claimPort(opts.port, "the dashboard");
  const root = normalize(opts.distDir);
  const config = JSON.stringify({ apiUrl: opts.apiUrl, wsUrl: opts.wsUrl });
  const server = createServer((req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    if (path === "/config.json") {
      res
        .writeHead(200, { "content-type": TYPES[".json"] as string, "cache-control": "no-store" })
        .end(config);
      return;
    }
    const file = normalize(join(root, path));
    const inside = file.startsWith(root + sep);
    const found = inside && existsSync(file) && statSync(file).isFile();
    // A missing asset is a 404; any other path is a page of the app.
    if (!found && path.startsWith("/assets/")) {
      res.writeHead(404, { "content-type": TYPES[".txt"] as string }).end("Not found");
      return;
    }
    const target = found ? file : join(root, "index.html");
    res.writeHead(200, {
      "content-type": TYPES[extname(target)] ?? "application/octet-stream",
      // Hashed assets never change; the page itself must always be the latest build.
      "cache-control": target.includes(`${sep}assets${sep}`)
        ? "public, max-age=31536000, immutable"
        : "no-cache",
      "x-content-type-options": "nosniff",
    });
    res.end(req.method === "HEAD" ? undefined : readFileSync(target));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
