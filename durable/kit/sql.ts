/** Values SQLite accepts as bound parameters. */
export type SqlParam = string | number | null | ArrayBuffer;

/**
 * A tagged template over the actor's SQLite: every interpolation becomes a bound `?`
 * parameter, so SQL text never contains caller data.
 *   sql<Row>`SELECT * FROM t WHERE id = ${id}`
 */
export type Sql = <Row = Record<string, SqlStorageValue>>(strings: TemplateStringsArray, ...values: SqlParam[]) => Row[];

/** The same, for a write whose row count matters: returns how many rows it wrote. */
export type SqlWrite = (strings: TemplateStringsArray, ...values: SqlParam[]) => number;

/**
 * The SQL text of a template, built once per call site: the same string object every time, so the
 * runtime's statement cache finds it by identity, and with its line breaks and indentation folded
 * (the runtime copies the text on every call). Our SQL has no line break inside a string literal.
 * A `--` comment is refused: folded onto one line it would silently comment out the rest.
 */
const sqlTexts = new WeakMap<TemplateStringsArray, string>();
export function sqlText(strings: TemplateStringsArray): string {
  let text = sqlTexts.get(strings);
  if (text === undefined) {
    if (strings.some((s) => s.includes("--"))) throw new SqlCommentError(strings.join("?"));
    text = strings.join("?").replace(/\s*\n\s*/g, " ").trim();
    sqlTexts.set(strings, text);
  }
  return text;
}

export class SqlCommentError extends Error {
  constructor(text: string) {
    super(`a "--" comment inside an sql template would comment out the rest of the folded statement: ${text.trim().slice(0, 120)}`);
    this.name = "SqlCommentError";
  }
}

export function sqlWriteFor(storage: SqlStorage): SqlWrite {
  return (strings: TemplateStringsArray, ...values: SqlParam[]) => storage.exec(sqlText(strings), ...values).rowsWritten;
}

export function sqlFor(storage: SqlStorage): Sql {
  return <Row>(strings: TemplateStringsArray, ...values: SqlParam[]) => storage.exec(sqlText(strings), ...values).toArray() as Row[];
}
