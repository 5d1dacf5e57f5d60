import { createApi } from "@conveyor/client/api";
import { useState } from "preact/hooks";
import { inWords, isUnauthorized } from "../errors.ts";

/** Sign-in by API token (`cvy_…`), checked against the API before it is kept. */
export function SignIn(props: { apiUrl: string; note?: string; onSignIn: (token: string) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const value = token.trim();
    if (!value) {
      setError("Paste your API token (it starts with cvy_).");
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await createApi({ apiUrl: props.apiUrl, token: value }).list({ limit: 1 });
      props.onSignIn(value);
    } catch (failure) {
      setError(
        isUnauthorized(failure)
          ? "That token was not accepted: the API does not know it. Check it, or mint a new one."
          : inWords(failure),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="page narrow">
      <h1>Sign in</h1>
      {props.note ? (
        <p class="banner" role="status">
          {props.note}
        </p>
      ) : null}
      <form onSubmit={submit} class="form">
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          placeholder="cvy_…"
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? "token-error" : "token-help"}
        />
        <p id="token-help" class="muted small">
          Kept in this browser only and removed when you sign out. <code>pnpm start</code> prints a link that
          signs you in.
        </p>
        {error ? (
          <p id="token-error" class="field-error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" disabled={busy}>
          {busy ? "Checking…" : "Sign in"}
        </button>
      </form>
    </section>
  );
}
