const KEY = "conveyor.token";

/** The token lives in this browser only (localStorage) and is removed on sign-out. */
export const session = {
  token: (): string | undefined => localStorage.getItem(KEY) ?? undefined,
  save: (token: string) => localStorage.setItem(KEY, token),
  clear: () => localStorage.removeItem(KEY),
};

/**
 * A link such as `<webUrl>/?token=cvy_...` (printed by `pnpm start`) signs in: the token is
 * taken and dropped from the address bar at once, so it stays out of history and bookmarks.
 */
export function takeTokenFromUrl(): string | undefined {
  const url = new URL(window.location.href);
  const token = url.searchParams.get("token");
  if (token === null) return undefined;
  url.searchParams.delete("token");
  history.replaceState(history.state, "", `${url.pathname}${url.search}${url.hash}`);
  return token.trim() || undefined;
}
