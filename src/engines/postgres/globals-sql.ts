/**
 * Reading what `pg_dumpall --globals-only` wrote, without a server: its statements one by one (psql's
 * meta-commands such as `\restrict` skipped), the roles and tablespaces it creates, and which
 * statement touches which role, so a restore can leave roles that already exist as they are.
 */

/** One SQL statement of the file, without its trailing semicolon. */
export type GlobalsStatement = string;

/** Splits the file into statements: quotes ('…', "…") and `--` comments respected, psql meta-command lines skipped. */
export function splitStatements(text: string): GlobalsStatement[] {
  const out: string[] = [];
  let cur = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (cur.trim() === '' && c === '\\') {
      // A psql meta-command (\connect, \restrict …) runs to the end of its line.
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl + 1;
      cur = '';
      continue;
    }
    if (c === '-' && text[i + 1] === '-') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? text.length : nl + 1;
      cur += '\n';
      continue;
    }
    if (c === "'" || c === '"') {
      const end = quotedEnd(text, i, c);
      cur += text.slice(i, end);
      i = end;
      continue;
    }
    if (c === ';') {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
      i++;
      continue;
    }
    cur += c;
    i++;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** The index just after the quoted text opening at `start` (a doubled quote is part of it). */
function quotedEnd(text: string, start: number, q: string): number {
  let i = start + 1;
  while (i < text.length) {
    if (text[i] === q) {
      if (text[i + 1] === q) i += 2;
      else return i + 1;
    } else i++;
  }
  return text.length;
}

const IDENT = String.raw`("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;

/** A name as the server stores it: "Quoted" names unquoted, plain ones folded to lower case. */
export function unquoteIdent(s: string): string {
  return s.startsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s.toLowerCase();
}

export type StatementKind = { kind: 'role'; role: string; create: boolean } | { kind: 'tablespace'; tablespace: string } | { kind: 'other' };

const ROLE_STATEMENT = [
  new RegExp(`^CREATE ROLE ${IDENT}\\s*$`, 'i'),
  new RegExp(`^ALTER ROLE ${IDENT}\\s`, 'i'),
  new RegExp(`^ALTER USER ${IDENT}\\s`, 'i'),
  new RegExp(`^COMMENT ON ROLE ${IDENT}\\s`, 'i'),
  new RegExp(`^SECURITY LABEL (?:FOR \\S+ )?ON ROLE ${IDENT}\\s`, 'i'),
];
const TABLESPACE_STATEMENT = [new RegExp(`^CREATE TABLESPACE ${IDENT}\\s`, 'i'), new RegExp(`^ALTER TABLESPACE ${IDENT}\\s`, 'i'), new RegExp(`^COMMENT ON TABLESPACE ${IDENT}\\s`, 'i')];

/**
 * What a statement does: creates or alters one role (its attributes, settings, comment), creates or
 * alters one tablespace, or something else (session settings, role memberships).
 */
export function classify(stmt: GlobalsStatement): StatementKind {
  const s = stmt.replace(/\s+/g, ' ').trim();
  for (const [i, re] of ROLE_STATEMENT.entries()) {
    const m = re.exec(s);
    if (m) return { kind: 'role', role: unquoteIdent(m[1]!), create: i === 0 };
  }
  for (const re of TABLESPACE_STATEMENT) {
    const m = re.exec(s);
    if (m) return { kind: 'tablespace', tablespace: unquoteIdent(m[1]!) };
  }
  return { kind: 'other' };
}

/** The roles and tablespaces the file creates, sorted. */
export function globalsInventory(text: string): { roles: string[]; tablespaces: string[] } {
  const roles = new Set<string>();
  const tablespaces = new Set<string>();
  for (const stmt of splitStatements(text)) {
    const k = classify(stmt);
    if (k.kind === 'role' && k.create) roles.add(k.role);
    if (k.kind === 'tablespace' && /^CREATE/i.test(stmt)) tablespaces.add(k.tablespace);
  }
  return { roles: [...roles].sort(), tablespaces: [...tablespaces].sort() };
}

/** The plan of a restore of the globals onto a server that has `existing` roles and tablespaces. */
export interface GlobalsPlan {
  run: GlobalsStatement[];
  /** Roles the server already has: their CREATE/ALTER statements are left out, the role stays as it is. */
  keptRoles: string[];
  keptTablespaces: string[];
}

/** Pure: which statements to run. Roles and tablespaces that exist are left as they are, and said so. */
export function planGlobals(text: string, existing: { roles: ReadonlySet<string>; tablespaces: ReadonlySet<string> }): GlobalsPlan {
  const run: string[] = [];
  const keptRoles = new Set<string>();
  const keptTablespaces = new Set<string>();
  for (const stmt of splitStatements(text)) {
    const k = classify(stmt);
    if (k.kind === 'role' && existing.roles.has(k.role)) keptRoles.add(k.role);
    else if (k.kind === 'tablespace' && existing.tablespaces.has(k.tablespace)) keptTablespaces.add(k.tablespace);
    else run.push(stmt);
  }
  return { run, keptRoles: [...keptRoles].sort(), keptTablespaces: [...keptTablespaces].sort() };
}
