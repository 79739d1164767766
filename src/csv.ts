import type { Transaction, TransactionPage } from "./schemas";

/**
 * CSV (RFC 4180): CRLF line ends; a field holding a comma, a double quote, CR or LF is quoted, its
 * quotes doubled. Text a user typed is also guarded against formula injection (OWASP "CSV
 * Injection"): a field starting with `=`, `+`, `-`, `@`, TAB or CR is prefixed with `'`, so a
 * spreadsheet shows it as text instead of running it (docs/decisions/0014).
 */
export const CSV_LINE_END = "\r\n";

/** Characters a spreadsheet reads as the start of a formula (or that hide one: TAB, CR). */
const FORMULA_START = /^[=+\-@\t\r]/;

/** Text a spreadsheet would not run: prefixed with `'` if it starts like a formula. */
export const defuseFormula = (text: string): string => (FORMULA_START.test(text) ? `'${text}` : text);

/** One field: quoted when it holds a comma, a quote, CR or LF (quotes doubled); null is empty. */
export function csvField(value: string | number | null): string {
  if (value === null) return "";
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One record, with its CRLF. */
export const csvRecord = (fields: readonly (string | number | null)[]): string => fields.map(csvField).join(",") + CSV_LINE_END;

/** The columns of the history export, in order (its header row). */
export const TRANSACTION_CSV_COLUMNS = ["id", "kind", "direction", "amount_msat", "fee_msat", "status", "counterparty", "memo", "created_at"] as const;

/**
 * One history row: amounts as integers of msat; the counterparty by username (the hub's usernames
 * are `[a-z0-9_]`); the memo, which anyone paying the wallet chooses, defused.
 */
export function transactionCsvRecord(t: Transaction): string {
  const counterparty = t.counterparty ? t.counterparty.username || t.counterparty.wallet_id : null;
  return csvRecord([t.id, t.kind, t.direction, t.amount_msat, t.fee_msat, t.status, counterparty === null ? null : defuseFormula(counterparty), t.memo === null ? null : defuseFormula(t.memo), t.created_at]);
}

/**
 * The whole history as a CSV stream: the header row, then each page of `pageOf` (newest first)
 * as it is pulled, until a page has no `next_cursor`. Only one page is held at a time.
 */
export function transactionsCsv(pageOf: (cursor: string | null) => Promise<TransactionPage>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let cursor: string | null = null;
  let started = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!started) {
        started = true;
        controller.enqueue(encoder.encode(csvRecord(TRANSACTION_CSV_COLUMNS)));
        return;
      }
      const page = await pageOf(cursor);
      if (page.transactions.length) controller.enqueue(encoder.encode(page.transactions.map(transactionCsvRecord).join("")));
      cursor = page.next_cursor;
      if (cursor === null) controller.close();
    },
  });
}
