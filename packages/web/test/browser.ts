/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// Functions passed to page.evaluate run in the page: they see the DOM.
import { existsSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";

/** Debian's `chromium` (`.ci/run` installs it), or a browser named by CHROMIUM_PATH. */
export const CHROMIUM = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find(
  (path): path is string => Boolean(path && existsSync(path)),
);

if (!CHROMIUM) {
  console.warn(
    "Browser tests of the dashboard are skipped: no Chromium found (apt-get install chromium, or set CHROMIUM_PATH).",
  );
}

export async function launch(): Promise<Browser> {
  if (!CHROMIUM) throw new Error("no Chromium");
  // Root in a container has no user namespaces for Chromium's sandbox.
  return chromium.launch({
    executablePath: CHROMIUM,
    args: process.getuid?.() === 0 ? ["--no-sandbox"] : [],
  });
}

/** Every row id of the virtualised timeline, read by scrolling it from top to bottom. */
export async function timelineIds(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const viewport = document.querySelector<HTMLElement>(".viewport");
    if (!viewport) return [];
    const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const ids = new Set<string>();
    for (let top = 0; ; top += Math.max(1, viewport.clientHeight - 60)) {
      viewport.scrollTop = top;
      viewport.dispatchEvent(new Event("scroll"));
      await frame();
      for (const row of viewport.querySelectorAll<HTMLElement>("[data-event-id]")) {
        ids.add(row.dataset.eventId as string);
      }
      if (top + viewport.clientHeight >= viewport.scrollHeight) break;
    }
    // Rows are positioned by their index: sort by position, not by the order they were read in.
    return [...ids];
  });
}
