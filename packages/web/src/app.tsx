import { type Api, createApi } from "@conveyor/client/api";
import { useEffect, useMemo, useState } from "preact/hooks";
import { type Endpoints, loadEndpoints } from "./config.ts";
import { inWords } from "./errors.ts";
import { SignIn } from "./pages/sign-in.tsx";
import { Submit } from "./pages/submit.tsx";
import { TaskList } from "./pages/task-list.tsx";
import { TaskPage } from "./pages/task-page.tsx";
import { navigate, onLinkClick, useRoute } from "./router.ts";
import { session, takeTokenFromUrl } from "./session.ts";

/** What every signed-in page gets. */
export interface Ctx {
  api: Api;
  wsUrl: string;
  token: string;
  /** The token stopped working (revoked, or the stack was reset): back to sign-in, saying why. */
  signOut: (reason?: string) => void;
}

export function App() {
  const route = useRoute();
  const [endpoints, setEndpoints] = useState<Endpoints>();
  const [fatal, setFatal] = useState<string>();
  const [token, setToken] = useState<string | undefined>(() => {
    const fromLink = takeTokenFromUrl();
    if (fromLink) session.save(fromLink);
    return fromLink ?? session.token();
  });
  const [signInNote, setSignInNote] = useState<string>();

  useEffect(() => {
    loadEndpoints().then(setEndpoints, (error) => setFatal(inWords(error)));
  }, []);

  const api = useMemo(
    () => (endpoints && token ? createApi({ apiUrl: endpoints.apiUrl, token }) : undefined),
    [endpoints, token],
  );

  const signOut = (reason?: string) => {
    session.clear();
    setToken(undefined);
    setSignInNote(reason);
  };

  useEffect(() => {
    document.title = route.page === "task" ? `Task ${route.taskId} · Conveyor` : "Conveyor";
  }, [route]);

  let body: preact.ComponentChildren;
  if (fatal) body = <p class="banner error">{fatal}</p>;
  else if (!endpoints) body = <p class="muted">Loading…</p>;
  else if (!token || !api || route.page === "sign-in") {
    body = (
      <SignIn
        apiUrl={endpoints.apiUrl}
        note={signInNote}
        onSignIn={(newToken) => {
          session.save(newToken);
          setSignInNote(undefined);
          setToken(newToken);
          if (route.page === "sign-in") navigate("/", { replace: true });
        }}
      />
    );
  } else {
    const ctx: Ctx = { api, wsUrl: endpoints.wsUrl, token, signOut };
    if (route.page === "list") body = <TaskList ctx={ctx} status={route.status} />;
    else if (route.page === "task") body = <TaskPage key={route.taskId} ctx={ctx} taskId={route.taskId} />;
    else if (route.page === "submit") body = <Submit ctx={ctx} />;
    else
      body = (
        <section class="page">
          <h1>Page not found</h1>
          <p>
            Nothing lives at <code>{route.path}</code>. <a href="/">Back to the tasks</a>.
          </p>
        </section>
      );
  }

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: delegates clicks on the links inside to the router
    // biome-ignore lint/a11y/useKeyWithClickEvents: links are followed by Enter as clicks
    <div class="shell" onClick={onLinkClick}>
      <header class="top">
        <a class="brand" href="/">
          Conveyor
        </a>
        {token && api && route.page !== "sign-in" ? (
          <nav aria-label="Main">
            <a href="/" aria-current={route.page === "list" ? "page" : undefined}>
              Tasks
            </a>
            <a href="/new" aria-current={route.page === "submit" ? "page" : undefined}>
              Submit a task
            </a>
            <button type="button" class="link" onClick={() => signOut("Signed out.")}>
              Sign out
            </button>
          </nav>
        ) : null}
      </header>
      <main>{body}</main>
    </div>
  );
}
