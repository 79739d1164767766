import { useState } from "preact/hooks";
import { Account, needsTotp } from "../account.ts";
import { useFormSubmit } from "../components/use-form-submit.ts";
import { ErrorAlert, TotpField } from "../components/form-parts.tsx";

/** Sign up or log in; asks for the TOTP code when the hub says the account has TOTP on. */
export function AuthView({ onSignedIn, onEnded }: { onSignedIn: (account: Account) => void; onEnded: () => void }) {
  const [mode, setMode] = useState<"login" | "signup">("signup");
  const [askTotp, setAskTotp] = useState(false);
  const { submit, error, busy } = useFormSubmit(
    async (form) => {
      const totp = String(form.get("totp") ?? "").trim() || undefined;
      onSignedIn(await Account.start(mode, String(form.get("username")), String(form.get("password")), totp, onEnded));
    },
    (e) => {
      if (mode === "login" && needsTotp(e)) setAskTotp(true);
    },
  );

  return (
    <main class="auth">
      <h1>Flash Hub</h1>
      <div class="tabs" role="group" aria-label="Account">
        <button type="button" aria-pressed={mode === "signup"} onClick={() => setMode("signup")}>
          Sign up
        </button>
        <button type="button" aria-pressed={mode === "login"} onClick={() => setMode("login")}>
          Log in
        </button>
      </div>
      <form onSubmit={submit} class="card">
        <label>
          Username
          <input name="username" required minLength={3} maxLength={32} pattern="[A-Za-z0-9_]{3,32}" autoComplete="username" autoFocus />
        </label>
        <label>
          Password
          <input name="password" type="password" required minLength={8} maxLength={256} autoComplete={mode === "signup" ? "new-password" : "current-password"} />
        </label>
        {mode === "login" && askTotp && <TotpField autoFocus />}
        <ErrorAlert error={error} />
        <button type="submit" disabled={busy}>
          {mode === "signup" ? "Create account" : "Log in"}
        </button>
      </form>
    </main>
  );
}
