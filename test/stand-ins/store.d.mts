// Types for store.mjs (the TDengine stand-ins' on-disk store). STAND-IN, test code only.

export interface ColumnDef {
  name: string;
  /** TDengine type text, e.g. TIMESTAMP, DOUBLE, BIGINT, BOOL, VARCHAR(16), NCHAR(32) */
  type: string;
}

export interface SuperTable {
  columns: ColumnDef[];
  tags: ColumnDef[];
}

/** A child table has `stable` + `tags`; a normal table has `columns`. */
export interface TableDef {
  stable?: string;
  tags?: unknown[];
  columns?: ColumnDef[];
}

/** A row is [ts epoch-ms, ...column values] (ms resolution whatever the database's precision). */
export type Row = [number, ...unknown[]];

export interface Database {
  name: string;
  precision: 'ms' | 'us' | 'ns';
  stables: Record<string, SuperTable>;
  tables: Record<string, TableDef>;
  rows: Record<string, Row[]>;
}

export interface Faults {
  /** table name: its data file fails to decode on restore ("Cannot decode file block"); its rows are not restored */
  corruptOnRestore?: string;
  /** table name: dumping it fails (ERROR lines, exit 0); its data is missing from the dump */
  failDumpTable?: string;
  /** rows silently lost on restore while the OK lines still report them: a number (every data file) or one table */
  dropRowsOnRestore?: number | { table: string; rows: number };
  /** summary line of a partially failed dump: 'error' (default) `ERROR: N row(s) dumped out!`, or 'ok' */
  partialSummary?: 'error' | 'ok';
  /** summary of a restore with failed files: 'failures' (default, 3.3.6.13/3.3.7) or 'rows' (older source) */
  restoreFailureSummary?: 'failures' | 'rows';
  /** substring (case-insensitive): every REST statement containing it answers an SQL error, code 0x2600 */
  failSql?: string;
  /** n: multi-row information_schema listings silently lose their last n rows with code 0 (a fetch failed mid-stream) */
  shortListing?: number;
  /**
   * n: once a dump has dumped n tables, taosd "dies" (taosdUp set false, the switch removed) and taosdump
   * blocks silently until taosdUp is true again, then loses that table's rows and exits 0 with a short
   * total (seen with a real 3.3.7 taosdump)
   */
  taosdDownAfterTables?: number;
}

export interface ServerConfig {
  version: string;
  users: Record<string, string>;
  taosdUp: boolean;
  adapterUp: boolean;
  nativePort: number;
  faults: Faults;
}

export interface ServerPatch extends Partial<Omit<ServerConfig, 'faults'>> {
  /** merged key by key; a null value removes the switch */
  faults?: { [K in keyof Faults]?: Faults[K] | null };
}

export declare const DEFAULT_SERVER: Readonly<ServerConfig>;
export declare const FAULT_KEYS: readonly string[];

export declare class Store {
  constructor(dir: string);
  readonly dir: string;
  readServer(): ServerConfig;
  updateServer(patch: ServerPatch): ServerConfig;
  listDatabases(): string[];
  readDatabase(name: string): Database | null;
  /** readDatabase parsed once per version of the file, for read-only callers; never mutate the result */
  readDatabaseCached(name: string): Database | null;
  writeDatabase(db: Database): void;
  dropDatabase(name: string): boolean;
  ensureDatabase(name: string, precision?: Database['precision']): Database;
  countRows(db: string, table: string, range?: { from?: number; to?: number }): number | null;
}

export interface SeedMarketDataOptions {
  database?: string;
  /** names, or how many (tick, minute_bar, stb3, ...) */
  stables?: string[] | number;
  childrenPerStable?: number;
  rowsPerChild?: number;
  /** names, or how many (calendar, ntb2, ...) */
  normalTables?: string[] | number;
  normalTableRows?: number;
  startTs?: number;
  stepMs?: number;
  /** the database's precision (default ms): epochs sent to the stand-ins are read in it */
  precision?: Database['precision'];
  /**
   * rows dated after now in the first normal table (one a day from tomorrow, as a trading
   * calendar holds them), beside its normalTableRows; default 0
   */
  futureRows?: number;
}

export interface SeedSummary {
  database: string;
  precision: Database['precision'];
  stables: string[];
  childTables: string[];
  normalTables: string[];
  /** rows per child or normal table */
  rows: Record<string, number>;
  /** rows per super table */
  stableRows: Record<string, number>;
  totalRows: number;
  /** rows dated after the moment of seeding (futureRows), all in normalTables[0] */
  futureRows: number;
  firstTs: number;
  lastTs: number;
}

/** A stored row's ts (epoch ms) as an epoch in the database's precision. */
export declare function toDbEpoch(tsMs: number, precision?: Database['precision']): bigint;
export declare function writeJsonAtomic(file: string, value: unknown): void;
export declare function emptyDatabase(name: string, precision?: Database['precision']): Database;
export declare function childrenOf(db: Database, stable: string): string[];
export declare function countRowsIn(db: Database, table: string, range?: { from?: number; to?: number }): number | null;
export declare function upsertRows(db: Database, table: string, rows: Row[]): void;
export declare function openStore(dir: string): Store;
export declare function createStore(dir: string, seed?: { server?: ServerPatch; databases?: Database[] }): Store;
export declare function seedMarketData(store: Store, opts?: SeedMarketDataOptions): SeedSummary;
