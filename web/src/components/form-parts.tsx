/** Small pieces the views' forms share. */

/** An error message announced to screen readers (role="alert"); renders nothing when there is none. */
export function ErrorAlert({ error }: { error: string }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

/** The "Authenticator code" field (name "totp", six digits), asked for when the account has TOTP on. */
export function TotpField({ autoFocus = false }: { autoFocus?: boolean }) {
  return (
    <label>
      Authenticator code
      <input name="totp" inputMode="numeric" pattern="[0-9]{6}" autoComplete="one-time-code" required autoFocus={autoFocus || undefined} />
    </label>
  );
}
