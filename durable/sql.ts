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
 */
const sqlTexts = new WeakMap<TemplateStringsArray, string>();
function sqlText(strings: TemplateStringsArray): string {
  let text = sqlTexts.get(strings);
  if (text === undefined) {
    text = strings.join("?").replace(/\s*\n\s*/g, " ").trim();
    sqlTexts.set(strings, text);
  }
  return text;
}

export function sqlWriteFor(storage: SqlStorage): SqlWrite {
  return (strings: TemplateStringsArray, ...values: SqlParam[]) => storage.exec(sqlText(strings), ...values).rowsWritten;
}

export function sqlFor(storage: SqlStorage): Sql {
  return <Row>(strings: TemplateStringsArray, ...values: SqlParam[]) => storage.exec(sqlText(strings), ...values).toArray() as Row[];
}

/**
 * Applies the schema steps this actor has not yet run, each in its own transaction.
 * Steps are append-only: never edit one that has shipped, add another.
 */
export function migrate(storage: DurableObjectStorage, steps: readonly string[]): void {
  storage.sql.exec("CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
  const row = storage.sql.exec<{ v: number | null }>("SELECT MAX(version) AS v FROM _migrations").one();
  for (let version = (row.v ?? 0) + 1; version <= steps.length; version++) {
    storage.transactionSync(() => {
      storage.sql.exec(steps[version - 1]!);
      storage.sql.exec("INSERT INTO _migrations (version, applied_at) VALUES (?, ?)", version, new Date().toISOString());
    });
  }
}
