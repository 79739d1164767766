import { useState } from "preact/hooks";
import { describe } from "../account.ts";

/**
 * A form's submit handler that runs `action` on the form's data, busy meanwhile, its failure shown
 * as `error` (after `onError`, if given, has looked at it).
 */
export function useFormSubmit(action: (form: FormData) => Promise<void>, onError?: (e: unknown) => void) {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setBusy(true);
    setError("");
    try {
      await action(form);
    } catch (e) {
      onError?.(e);
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  }

  return { submit, error, busy };
}
