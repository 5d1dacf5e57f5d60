import { main } from "@conveyor/cli/cli";
import type { LocalStack } from "../src/stack.ts";

/**
 * Drives the CLI in-process against the live stack, as `pnpm conveyor ...` would. `answer`, when
 * given, makes stdin and stdout terminals and types it at the inline question; `asked` holds
 * stdout as it stood at each question; `live.stderr` follows stderr while the CLI runs.
 */
export async function runCli(
  stack: LocalStack,
  argv: string[],
  opts: { env?: Record<string, string>; answer?: string; live?: { stderr: string } } = {},
) {
  let stdout = "";
  let stderr = "";
  const asked: string[] = [];
  const code = await main(argv, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
      if (opts.live) opts.live.stderr = stderr;
    },
    env: opts.env ?? { CONVEYOR_API_URL: stack.apiUrl, CONVEYOR_TOKEN: stack.token },
    cwd: stack.stateDir,
    pollIntervalMs: 50,
    ...(opts.answer === undefined
      ? {}
      : {
          isTTY: { stdin: true, stdout: true },
          readLine: async () => {
            asked.push(stdout);
            return opts.answer;
          },
        }),
  });
  return { code, stdout, stderr, asked };
}
