/**
 * Traefik's provider constraint expressions (`providers.docker.constraints`), evaluated against a container's
 * labels as Traefik v3 does: `Label(`key`, `value`)`, `LabelRegex(`key`, `regex`)`, `!`, `&&`, `||` and
 * parentheses (Traefik's constraints grammar, pkg/provider/constraints). Anything else throws: a constraint this
 * cannot read is never taken as matching.
 */
type Token = { kind: "op"; value: "!" | "&&" | "||" | "(" | ")" } | { kind: "call"; name: string; args: string[] };

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const rest = expr.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const op = /^(&&|\|\||!|\(|\))/.exec(rest);
    if (op) {
      tokens.push({ kind: "op", value: op[1] as "!" | "&&" | "||" | "(" | ")" });
      i += op[1].length;
      continue;
    }
    const call = /^(Label|LabelRegex)\(\s*`([^`]*)`\s*,\s*`([^`]*)`\s*\)/.exec(rest);
    if (call) {
      tokens.push({ kind: "call", name: call[1], args: [call[2], call[3]] });
      i += call[0].length;
      continue;
    }
    throw new Error(`traefikConstraint: cannot read ${JSON.stringify(rest)}`);
  }
  return tokens;
}

/** Whether a container with these labels satisfies the constraint (an empty constraint matches every one). */
export function matchesConstraint(constraint: string, labels: Record<string, string>): boolean {
  if (constraint.trim() === "") return true;
  const tokens = tokenize(constraint);
  let pos = 0;
  const peek = () => tokens[pos];
  const isOp = (v: string) => peek()?.kind === "op" && (peek() as { value: string }).value === v;
  function primary(): boolean {
    const t = tokens[pos++];
    if (!t) throw new Error("traefikConstraint: unexpected end");
    if (t.kind === "call") {
      const [key, value] = t.args;
      if (t.name === "Label") return labels[key] === value;
      return key in labels && new RegExp(`^(?:${value})$`).test(labels[key]);
    }
    if (t.value === "!") return !primary();
    if (t.value === "(") {
      const v = or();
      if (!isOp(")")) throw new Error("traefikConstraint: missing )");
      pos++;
      return v;
    }
    throw new Error(`traefikConstraint: unexpected ${t.value}`);
  }
  function and(): boolean {
    let v = primary();
    while (isOp("&&")) {
      pos++;
      v = primary() && v;
    }
    return v;
  }
  function or(): boolean {
    let v = and();
    while (isOp("||")) {
      pos++;
      v = and() || v;
    }
    return v;
  }
  const result = or();
  if (pos !== tokens.length) throw new Error(`traefikConstraint: trailing tokens in ${constraint}`);
  return result;
}
