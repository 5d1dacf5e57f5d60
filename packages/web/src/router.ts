import { useEffect, useState } from "preact/hooks";

export type Route =
  | { page: "list"; status?: string }
  | { page: "task"; taskId: string }
  | { page: "submit" }
  | { page: "sign-in" }
  | { page: "missing"; path: string };

/** The dashboard's few addresses; `/tasks/<taskId>` is what the CLI and `pnpm start` link to. */
export function parseRoute(location: { pathname: string; search: string }): Route {
  const path = location.pathname.replace(/\/+$/, "") || "/";
  if (path === "/" || path === "/tasks") {
    const status = new URLSearchParams(location.search).get("status") ?? undefined;
    return { page: "list", status };
  }
  if (path === "/new") return { page: "submit" };
  if (path === "/sign-in") return { page: "sign-in" };
  const task = /^\/tasks\/([^/]+)$/.exec(path);
  if (task?.[1]) return { page: "task", taskId: decodeURIComponent(task[1]) };
  return { page: "missing", path };
}

const listeners = new Set<() => void>();

export function navigate(to: string, opts: { replace?: boolean } = {}) {
  if (opts.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  for (const listener of listeners) listener();
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location));
    listeners.add(update);
    window.addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      window.removeEventListener("popstate", update);
    };
  }, []);
  return route;
}

/** Same-origin links are followed in the page; modified clicks (new tab) are left to the browser. */
export function onLinkClick(event: MouseEvent) {
  if (
    event.defaultPrevented ||
    event.button !== 0 ||
    event.metaKey ||
    event.ctrlKey ||
    event.shiftKey ||
    event.altKey
  )
    return;
  const anchor = (event.target as Element | null)?.closest?.("a");
  if (!anchor || anchor.target || anchor.origin !== window.location.origin) return;
  event.preventDefault();
  navigate(`${anchor.pathname}${anchor.search}`);
}
