/**
 * An engine plugin: everything the commands need to know of one kind of database, so that they
 * loop over the registered engines (registry.ts) and never name one. The plugin's `name` is its
 * config key, its manifest key and its `--engines` value.
 */
import type { Stats } from 'node:fs';
import type { z } from 'zod';
import type { FileEntry, TableCount } from '../catalog/file-entry.js';
import type { ImportName } from '../catalog/import-names.js';
import type { SetEntry } from '../catalog/sets.js';
import type { RunContext } from '../commands/context.js';
import type { Check, CommandOutcome, EngineReport } from '../report/result.js';
import type { EngineContext, PreflightInfo } from './engine.js';

/** What every engine's manifest section holds: its files (checked by checksum) and the database dumped. */
export interface SectionBase {
  database: string;
  files: FileEntry[];
}

/** The preflight's facts, and the line the log shows for them. */
export interface Preflight extends PreflightInfo {
  summary: string;
}

/** What a dump leaves in the staging folder, as the manifest and the report record it. */
export interface Dumped<M> {
  section: M;
  /** Row counts for the report. */
  tables: TableCount[];
  /** Tables dumped whose count failed: the set is kept, the run fails and names them. */
  uncounted: { name: string; error: string }[];
}

/** What a scratch restore tells verify, besides the checks it recorded. */
export interface ScratchOutcome {
  failed: boolean;
  report: EngineReport;
}

/** A verification's engine context: where run files go (beside the logs, never into the set). */
export interface ScratchContext extends EngineContext {
  root: string;
}

/** One engine configured for one run: the whole life of its part of a set. */
export interface Engine<M extends SectionBase = SectionBase> {
  /** The database it dumps (the configured one, or the override it was created with). */
  readonly database: string;
  /** Where it dumps from, for log headings (`PostgreSQL 127.0.0.1:5432/mystocks`). */
  readonly where: string;
  /** Tools and secrets, no connection: a missing one is a UsageError (exit 2). */
  findTools(env: NodeJS.ProcessEnv): void;
  /** Reaches the server and checks the client against it. */
  preflight(ctx: EngineContext): Promise<Preflight>;
  /** Dumps into `stagingDir` (the set folder being built); rows after `startedAt` may be left out. */
  dump(ctx: EngineContext, stagingDir: string, pre: PreflightInfo, startedAt: Date): Promise<Dumped<M>>;
  /** Checks of a set's section that need no connection, before verify creates anything. */
  checkSet?(section: M): Promise<void>;
  /**
   * Restores the set's section into a scratch database and compares its counts with the section.
   * Checks go into `checks` as they are made, so a failure part-way still records the earlier ones.
   */
  restoreScratch(ctx: ScratchContext, set: SetEntry, section: M, checks: Check[]): Promise<ScratchOutcome>;
  /** Restores the set into `target` (safety set first, through `kit`); absent: the engine cannot restore in place. */
  restoreTarget?(ctx: RunContext, set: SetEntry, target: string, kit: RestoreKit): Promise<CommandOutcome>;
  /**
   * The `check` command's rows for this engine (tools, login, client against server), dumping and
   * writing nothing; a failure is a failed row, never a throw. Absent: `check` makes two rows of
   * findTools and preflight.
   */
  check?(ctx: EngineContext): Promise<Check[]>;
}

/**
 * What the restore command lends an engine's restoreTarget: the steps that are the commands' work,
 * so that engines never call back up into the commands.
 */
export interface RestoreKit {
  /** Takes a safety set of `database` (this engine's dump of it, kind `safety`), as `backup` would; with `tables`, of just those tables. */
  safetySet(database: string, tables?: readonly string[]): Promise<CommandOutcome>;
}

/** A dump made elsewhere (the old runbook's files), read and checked, ready to become a set. */
export interface ForeignDump {
  name: ImportName;
  startedAt: Date;
  /** Each file as it will lie in the set, with the original's size and SHA-256 (the copy is checked against them). */
  sums: Map<string, FileEntry>;
  /** What it is, for the log. */
  summary: string;
  /** Copies the original into the set being built. */
  copyInto(stagingDir: string): Promise<void>;
  /** The manifest section, without counts (only a restore can count an imported dump). */
  section(files: FileEntry[], startedIso: string): unknown;
}

/** How an engine adopts dumps made without this tool. */
export interface EngineImporter {
  /** For hints: what it adopts, e.g. `the old backup files (postgresql/*.backup)`. */
  readonly what: string;
  /** For hints: paths as a person would give them. */
  readonly example: string;
  /** Whether it reads files, folders, or both. */
  readonly takes: 'file' | 'folder' | 'both';
  /**
   * When more than one engine takes this kind of path: whether `source` looks like this engine's dump
   * (the first that claims it reads it; an importer without `claims` claims all it takes).
   */
  claims?(source: string, st: Stats): Promise<boolean>;
  /** Reads `source` and checks it is a dump of this engine; a UsageError or JobError says why not. */
  read(source: string, st: Stats): Promise<ForeignDump>;
}

/**
 * One kind of database. Methods (not function properties) on purpose: a plugin typed for its own
 * config and section is then stored in the registry as a plugin of unknown config.
 */
export interface EnginePlugin<C = unknown, M extends SectionBase = SectionBase> {
  /** Config key, manifest key and `--engines` value: lower-case letters, digits and `_`. */
  readonly name: string;
  /** For people: log headings, status rows, report blocks. */
  readonly label: string;
  readonly configSchema: z.ZodType<C>;
  readonly manifestSchema: z.ZodType<M>;
  /** Keys of its config section holding paths: relative ones are taken relative to the config file. */
  readonly pathKeys?: readonly string[];
  /** Environment variables holding its secrets: masked wherever they would be printed. */
  readonly secretEnv: readonly string[];
  /** The row counts a section records, as one list (what reports show and comparisons use). */
  counts(section: M): TableCount[];
  /** The database a section of the config names, and its scratch database: a scratch may never be a production database. */
  databases(config: C): { database: string; scratch: string | null };
  /** Why a restore target's name is one this engine keeps for itself (its restore's own copies), or null. */
  reservedTarget?(target: string): { message: string; hint: string } | null;
  /** How it adopts dumps made elsewhere, for one run (import); absent: it cannot. */
  importer?(ctx: RunContext): EngineImporter;
  /**
   * `database`: dump this database instead of the configured one (a safety set of a restore target);
   * `tables`: dump only these tables of it (the safety set of a table restore; engines that cannot, ignore it).
   */
  create(config: C, opts?: { database?: string; tables?: readonly string[] }): Engine<M>;
}

/** A plugin as the registry holds it. */
export type AnyEnginePlugin = EnginePlugin<unknown, SectionBase>;

/** Identity, for type inference: `defineEngine({ ... })` checks a plugin against its own config and section types. */
export function defineEngine<C, M extends SectionBase>(plugin: EnginePlugin<C, M>): EnginePlugin<C, M> {
  return plugin;
}
