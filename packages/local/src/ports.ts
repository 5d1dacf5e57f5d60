import { createServer } from "node:net";

/** A free loopback port, or the requested one if it is free; a taken port is a plain error. */
export async function claimPort(port: number, what: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "EADDRINUSE"
          ? new Error(
              `Port ${port} for ${what} is already in use. Stop whatever holds it, or pick other ports (--port).`,
            )
          : error,
      );
    });
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      const chosen = typeof address === "object" && address ? address.port : port;
      server.close(() => resolve(chosen));
    });
  });
}
