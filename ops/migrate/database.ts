/** Parsers and verdicts over what the old and new PostgreSQL servers print (commands.ts: rowCounts, sessions). */

/** `database.schema.table count` lines → table → rows. */
export function parseRowCounts(output: string): Map<string, number> {
  const rows = new Map<string, number>();
  for (const line of output.split("\n")) {
    const m = /^(.*) (\d+)$/.exec(line.trim());
    if (m) rows.set(m[1], Number(m[2]));
  }
  return rows;
}

/**
 * The new server holds the old one's data when every table is there with its rows. Live traffic may add or remove
 * a few rows once the stack serves, so only a missing table or one emptied is a failure; other differences are told.
 */
export function compareRowCounts(
  before: Map<string, number>,
  after: Map<string, number>,
): { ok: boolean; message: string } {
  const missing = [...before.keys()].filter((t) => !after.has(t));
  const emptied = [...before].filter(([t, n]) => n > 0 && after.get(t) === 0).map(([t, n]) => `${t} (${n} → 0)`);
  const changed = [...before]
    .filter(([t, n]) => after.has(t) && after.get(t) !== n && !(n > 0 && after.get(t) === 0))
    .map(([t, n]) => `${t} ${n} → ${after.get(t)}`);
  const total = [...before.values()].reduce((a, b) => a + b, 0);
  if (missing.length || emptied.length)
    return {
      ok: false,
      message: [
        missing.length ? `missing tables: ${missing.join(", ")}` : "",
        emptied.length ? `emptied: ${emptied.join(", ")}` : "",
      ]
        .filter(Boolean)
        .join("; "),
    };
  return {
    ok: true,
    message:
      `all ${before.size} tables (${total} rows) are in the new server` +
      (changed.length ? `; changed since (live traffic): ${changed.join(", ")}` : ", every count equal"),
  };
}

/** `role database` lines → the set of them. */
export function sessionsOf(output: string): Set<string> {
  return new Set(
    output
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean),
  );
}
