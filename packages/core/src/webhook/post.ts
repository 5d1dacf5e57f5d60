import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { parseTarget, publicLookup, type TargetMode } from "./target.ts";

/** What one POST to a receiver came to: its status, or why there was none. */
export interface PostResult {
  statusCode?: number;
  error?: string;
  /** The target is not allowed (a private address): retrying cannot help. */
  refused?: boolean;
  durationMs: number;
}

/**
 * POSTs a body to a webhook target, never following redirects (a 3xx is a failure, so a
 * public host cannot bounce a delivery to a private one). In `public` mode the connection's
 * own DNS lookup refuses private answers.
 */
export async function post(
  rawUrl: string,
  body: string,
  headers: Record<string, string>,
  opts: { mode: TargetMode; timeoutMs: number; now: () => number },
): Promise<PostResult> {
  const started = opts.now();
  const took = () => Math.max(0, opts.now() - started);
  let url: URL;
  try {
    url = parseTarget(rawUrl, opts.mode);
  } catch (error) {
    return { error: (error as Error).message, refused: true, durationMs: took() };
  }
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<PostResult>((resolve) => {
    const req = request(
      url,
      {
        method: "POST",
        headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
        timeout: opts.timeoutMs,
        ...(opts.mode === "public" ? { lookup: publicLookup } : {}),
      },
      (res) => {
        // The answer's body is not read beyond draining it: only the status counts.
        res.resume();
        res.on("end", () => resolve({ statusCode: res.statusCode, durationMs: took() }));
        res.on("error", (error) =>
          resolve({ statusCode: res.statusCode, error: error.message, durationMs: took() }),
        );
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)));
    req.on("error", (error: Error & { code?: string }) =>
      resolve({
        error: error.message,
        refused: error.code === "WEBHOOK_PRIVATE_ADDRESS",
        durationMs: took(),
      }),
    );
    req.end(body);
  });
}
