/**
 * Every error code the tool can report, once: what it means to a person and how it is raised.
 * The error classes (errors.ts) take only these keys, so a new code must be listed here first;
 * README's "Error codes" table is generated from this list (`npx tsx scripts/error-codes.ts --write`)
 * and test/unit/error-codes.test.ts keeps the two, and the throw sites' classes, in step.
 *
 * kind: how the throw site raises it. `usage` exits 2 before anything was touched; `failed` exits 1;
 * `cancelled` exits 1 after a signal. A restore that already touched its target re-raises any code
 * as `failed` (src/engines/restore-stage.ts).
 */
export type ErrorKind = 'usage' | 'failed' | 'cancelled';

interface ErrorCodeInfo {
  kind: ErrorKind;
  meaning: string;
}

export const ERROR_CODES = {
  // run, usage, the action's inputs
  'usage.invalid': { kind: 'usage', meaning: 'a command-line flag or argument is wrong (unknown command, bad value)' },
  'input.required': { kind: 'usage', meaning: 'the action step has no `command` input' },
  'input.invalid': { kind: 'usage', meaning: 'an action input has a wrong value' },
  'input.restore_event': { kind: 'usage', meaning: 'the action was asked to restore from an event other than workflow_dispatch' },
  'run.cancelled': { kind: 'cancelled', meaning: 'SIGINT/SIGTERM stopped the run; it cleaned up and kept no partial set' },
  'root.not_writable': { kind: 'failed', meaning: 'the backup root cannot be written (read-only file system, permissions)' },
  'space.low': { kind: 'failed', meaning: 'the backup root has less free space than the backup needs (`min_free_gb`)' },
  internal: { kind: 'failed', meaning: 'an error nobody anticipated (a file system error, a bug); the log holds its stack trace' },

  // the config file
  'config.missing': { kind: 'usage', meaning: 'no config file where the run looked (`--config`, `PGTAOS_BACKUP_CONFIG`, the action\'s `config` input, or `pgtaos-backup.yml`), and flags alone do not make a config' },
  'config.unreadable': { kind: 'usage', meaning: 'the config file cannot be read' },
  'config.too_large': { kind: 'usage', meaning: 'the config file is larger than a config file can be (256 KiB)' },
  'config.yaml': { kind: 'usage', meaning: 'the config file is not valid YAML' },
  'config.yaml_aliases': { kind: 'usage', meaning: 'the config file\'s YAML aliases expand too often (an alias bomb) or do not resolve' },
  'config.shape': { kind: 'usage', meaning: 'the config file is not a mapping of keys' },
  'config.invalid': { kind: 'usage', meaning: 'a config key is unknown, missing or has a wrong value' },
  'config.root_system': { kind: 'usage', meaning: '`root` is a system folder (`/`, `/etc`, `/var` itself ...)' },
  'config.remote_name': { kind: 'usage', meaning: 'two remotes have the same name' },
  'engines.none': { kind: 'usage', meaning: 'the config names no database to back up' },
  'engines.not_configured': { kind: 'usage', meaning: '`--engines` asks for an engine the config has no section for' },
  'engines.unknown': { kind: 'usage', meaning: 'no engine of that name is registered' },

  // config snapshots
  'config_files.missing_section': { kind: 'usage', meaning: '`config` was run but the config has no `config_files:` section' },
  'config_files.base_dir': { kind: 'usage', meaning: '`config_files.base_dir` is not a readable folder' },
  'config_files.missing': { kind: 'usage', meaning: 'a file listed in `config_files.paths` does not exist' },
  'config_files.unreadable': { kind: 'usage', meaning: 'a listed config file cannot be resolved (a dangling link?)' },
  'config_files.outside_base_dir': { kind: 'usage', meaning: 'a listed config file resolves (through a link) outside `base_dir`' },
  'config.changed': { kind: 'failed', meaning: 'the config files changed while their snapshot was being taken' },

  // sets, the catalog, the lock
  'set.bad_id': { kind: 'usage', meaning: 'the value given is not a set id' },
  'set.not_found': { kind: 'usage', meaning: 'no set of that id under the backup root' },
  'set.exists': { kind: 'failed', meaning: 'a set folder of the new set\'s name already exists (nothing was overwritten)' },
  'set.unsafe_file': { kind: 'failed', meaning: 'a manifest names a file the tool will not open (outside the set, a link)' },
  'catalog.linked_folder': { kind: 'failed', meaning: 'a folder inside the backup root is a symbolic link; the tool does not follow it' },
  'lock.held': { kind: 'failed', meaning: 'another run holds the backup root\'s lock' },
  'lock.contended': { kind: 'failed', meaning: 'the lock could not be taken: other runs kept taking or replacing it' },
  'lock.not_a_file': { kind: 'failed', meaning: 'the lock path is not a plain file the tool wrote' },
  'milestone.bad_name': { kind: 'usage', meaning: 'the milestone name is not 1-64 of `a-z`, `0-9`, `_`' },
  'milestone.exists': { kind: 'usage', meaning: 'a milestone of that name was taken today (`--force` keeps a second one)' },

  // import
  'import.no_paths': { kind: 'usage', meaning: '`import` was given no paths' },
  'import.missing': { kind: 'usage', meaning: 'a path given to `import` does not exist' },
  'import.bad_path': { kind: 'usage', meaning: 'a path given to `import` is neither a file nor a folder' },
  'import.bad_name': { kind: 'usage', meaning: 'an imported file or folder name does not give a set name (`<milestone>_<YYYYMMDD>`, `<database>_<YYYYMMDD>_<HHMMSS>`)' },
  'import.not_taosdump': { kind: 'usage', meaning: 'an imported folder is not a taosdump `-o` folder' },
  'import.unreadable': { kind: 'failed', meaning: 'an imported file cannot be read; nothing was imported' },
  'import.copy_differs': { kind: 'failed', meaning: 'the copy of an imported file differs from its original (written to meanwhile?)' },

  // verify
  'verify.no_set': { kind: 'failed', meaning: 'there is no complete set to verify' },
  'verify.incomplete': { kind: 'failed', meaning: 'the set to verify is incomplete: it is not a backup' },
  'verify.no_engine_config': { kind: 'usage', meaning: 'the set holds a dump of an engine the config has no section for' },

  // restore
  'restore.no_set': { kind: 'usage', meaning: '`restore` was given no set id' },
  'restore.no_target': { kind: 'usage', meaning: '`restore` was given no `--target`' },
  'restore.not_confirmed': { kind: 'usage', meaning: '`--confirm` does not repeat the target; nothing was done' },
  'restore.bad_target': { kind: 'usage', meaning: 'the target is not a plain database name' },
  'restore.reserved_target': { kind: 'usage', meaning: 'the target ends in a suffix restores keep for their own copies' },
  'restore.nothing': { kind: 'usage', meaning: 'the set holds no database dump' },
  'restore.no_globals': { kind: 'usage', meaning: 'restore --with-globals was given a set that holds no roles and tablespaces (made before they were kept, or imported)' },
  'restore.engine_not_in_set': { kind: 'usage', meaning: 'the set holds no dump of the engine asked for' },
  'restore.not_supported': { kind: 'usage', meaning: 'the set\'s engine cannot restore a set into a database; restore it by hand from its files' },
  'restore.bad_table': { kind: 'usage', meaning: '`restore --table` was given a name that is not schema.table' },
  'restore.table_not_in_set': { kind: 'usage', meaning: '`restore --table` names a table the set does not hold; nothing was done' },
  'restore.no_target_db': { kind: 'usage', meaning: '`restore --table` into a database that does not exist' },
  'restore.tables_engine': { kind: 'usage', meaning: '`restore --table` with a set engine other than PostgreSQL' },
  'restore.tables_globals': { kind: 'usage', meaning: '`restore --table` together with `--with-globals`' },
  'restore.bad_schema': { kind: 'usage', meaning: '`restore --as-schema` was given a name that is not a plain identifier' },
  'restore.schema_exists': { kind: 'usage', meaning: '`restore --as-schema` names a schema the target already has; nothing was done' },
  'restore.schema_clash': { kind: 'usage', meaning: '`restore --as-schema` with two tables of the same name in different schemas' },
  'restore.which_engine': { kind: 'usage', meaning: 'the set holds two engines\' dumps; name the one to restore' },
  'restore.no_engine_config': { kind: 'usage', meaning: 'the set holds a dump of an engine the config has no section for' },
  'restore.incomplete': { kind: 'failed', meaning: 'the set is incomplete and cannot be restored' },
  'restore.damaged_set': { kind: 'failed', meaning: 'the set\'s files differ from its manifest; nothing was restored' },
  'restore.counts_differ': { kind: 'failed', meaning: 'the restored copy\'s row counts differ from the manifest; it was not swapped in' },
  'restore.old_copy_left': { kind: 'failed', meaning: 'an earlier restore left the replaced database behind; remove it first' },
  'restore.failed': { kind: 'failed', meaning: 'a restore stopped on an unanticipated error; the message says what it left' },
  'restore.cancelled': { kind: 'cancelled', meaning: 'a signal stopped a restore; the message says what it left and how to roll back' },

  // PostgreSQL
  'binary.missing': { kind: 'usage', meaning: 'a client tool (pg_dump, pg_restore, taosdump) is not on PATH or in `bin_dir`' },
  'postgres.spawn': { kind: 'usage', meaning: 'pg_dump or pg_restore cannot be started' },
  'postgres.client_version': { kind: 'failed', meaning: 'the version of pg_dump or pg_restore cannot be read' },
  'postgres.compress_unsupported': { kind: 'usage', meaning: 'postgres.compress names a method the pg_dump found cannot write (lz4, zstd: pg_dump 16+)' },
  'postgres.client_too_old': { kind: 'failed', meaning: 'pg_dump is older than the server, or pg_restore older than the archive\'s pg_dump' },
  'postgres.archive_too_new': { kind: 'failed', meaning: 'the archive was written by a newer pg_dump than this pg_restore' },
  'postgres.unreadable_archive': { kind: 'failed', meaning: 'the file is damaged or not a pg_dump custom-format archive' },
  'postgres.unreachable': { kind: 'failed', meaning: 'the PostgreSQL server cannot be reached' },
  'postgres.auth': { kind: 'failed', meaning: 'PostgreSQL refused the login (user, password)' },
  'postgres.no_database': { kind: 'failed', meaning: 'the database does not exist on the server' },
  'postgres.permission_denied': { kind: 'failed', meaning: 'the backup user lacks SELECT on a table' },
  'postgres.dump_failed': { kind: 'failed', meaning: 'pg_dump failed (its error lines follow); nothing was kept' },
  'postgres.globals_failed': { kind: 'failed', meaning: 'pg_dumpall --globals-only (the roles and tablespaces kept beside the dump) failed; nothing was kept' },
  'postgres.globals_denied': { kind: 'failed', meaning: 'postgres.globals_password_hashes is set but the backup user cannot read pg_authid (only a superuser can)' },
  'postgres.globals_apply': { kind: 'failed', meaning: "restore --with-globals: a statement of the set's globals.sql failed on the target server; the database was not touched" },
  'postgres.no_tables': { kind: 'failed', meaning: 'a safety set of some tables found none of them in the database' },
  'postgres.empty_dump': { kind: 'failed', meaning: 'pg_dump wrote an empty file' },
  'postgres.count_failed': { kind: 'failed', meaning: 'counting rows on the dump\'s snapshot failed' },
  'postgres.restore_failed': { kind: 'failed', meaning: 'pg_restore failed (its error lines follow)' },
  'postgres.sql': { kind: 'failed', meaning: 'an SQL statement of a verify or restore failed' },
  'postgres.extension_missing': { kind: 'failed', meaning: 'the target server lacks an extension the dump needs' },
  'postgres.extension_version': { kind: 'failed', meaning: 'the target server offers another version of an extension than the dump\'s' },
  'postgres.scratch_is_production': { kind: 'usage', meaning: 'the scratch database is the production database' },
  'postgres.not_staging': { kind: 'usage', meaning: 'a restore was about to drop a database that is not its own copy (a bug)' },
  'postgres.swap_failed': { kind: 'failed', meaning: 'the restored copy could not be renamed into the target\'s place' },

  // TDengine (docs/tdengine.md)
  'tdengine.no_password': { kind: 'usage', meaning: 'TDENGINE_PASSWORD is not set' },
  'tdengine.password_unusable': { kind: 'usage', meaning: 'TDENGINE_PASSWORD contains whitespace, which taosdump cannot take' },
  'tdengine.password_too_long': { kind: 'usage', meaning: 'TDENGINE_PASSWORD is longer than this taosdump reads' },
  'tdengine.bad_name': { kind: 'usage', meaning: 'a TDengine database name is not a plain lower-case name' },
  'tdengine.scratch_is_production': { kind: 'usage', meaning: 'the scratch database is the production or a system database' },
  'tdengine.scratch_is_dump_source': { kind: 'usage', meaning: 'the scratch or target database is the one the dump was made from' },
  'tdengine.restore_into_production': { kind: 'usage', meaning: 'the restore target is the production or a system database' },
  'tdengine.dump_path': { kind: 'usage', meaning: 'the dump folder name is unsafe for `taosdump -i`' },
  'tdengine.spawn': { kind: 'usage', meaning: 'taosdump cannot be started' },
  'tdengine.client_version': { kind: 'failed', meaning: 'the version of taosdump cannot be read' },
  'tdengine.server_version': { kind: 'failed', meaning: 'the server version cannot be read through taosAdapter' },
  'tdengine.version_mismatch': { kind: 'failed', meaning: 'taosdump\'s major.minor differs from the server\'s' },
  'tdengine.taosbackup_era': { kind: 'failed', meaning: 'the server or taosdump is 3.4.1 or newer (taosBackup), which the tool does not drive' },
  'tdengine.no_rename': { kind: 'failed', meaning: 'this taosdump has no `-W` (rename on restore)' },
  'tdengine.adapter_unreachable': { kind: 'failed', meaning: 'taosAdapter (REST) does not answer' },
  'tdengine.adapter_down': { kind: 'failed', meaning: 'taosd answers but taosAdapter does not' },
  'tdengine.native_unreachable': { kind: 'failed', meaning: 'taosAdapter answers but the native port taosdump needs does not' },
  'tdengine.server_down': { kind: 'failed', meaning: 'taosd is down or unreachable' },
  'tdengine.auth': { kind: 'failed', meaning: 'TDengine refused the login (user, password)' },
  'tdengine.rest': { kind: 'failed', meaning: 'taosAdapter answered with an error or not as taosAdapter' },
  'tdengine.sql': { kind: 'failed', meaning: 'TDengine refused a statement' },
  'tdengine.no_database': { kind: 'failed', meaning: 'the TDengine database does not exist' },
  'tdengine.precision': { kind: 'failed', meaning: 'the database has a precision other than ms, us or ns' },
  'tdengine.count': { kind: 'failed', meaning: 'a COUNT(*) answered something that is not a count' },
  'tdengine.short_listing': { kind: 'failed', meaning: 'a listing of tables came back shorter than its COUNT(*)' },
  'tdengine.end_time': { kind: 'failed', meaning: 'a dump\'s recorded end time cannot be read' },
  'tdengine.connect_failed': { kind: 'failed', meaning: 'taosdump could not connect and was stopped rather than left to retry' },
  'tdengine.stalled': { kind: 'failed', meaning: 'taosdump made no progress for `stall_timeout_seconds`' },
  'tdengine.dump_failed': { kind: 'failed', meaning: 'taosdump did not dump the database whole (its lines follow)' },
  'tdengine.count_mismatch': { kind: 'failed', meaning: 'the rows taosdump reported differ from the database\'s count' },
  'tdengine.not_a_dump': { kind: 'failed', meaning: 'the folder is not a taosdump folder of exactly one database' },
  'tdengine.target_exists': { kind: 'failed', meaning: 'the restore target database already exists (taosdump would merge into it)' },
  'tdengine.restore_failed': { kind: 'failed', meaning: 'taosdump could not restore the dump (its lines follow)' },

  // point-in-time recovery (Barman)
  'pitr.no_config': { kind: 'usage', meaning: 'a point-in-time command was asked for but the config has no `pitr:` section' },
  'pitr.no_password': { kind: 'usage', meaning: '`PITR_PGPASSWORD` (the pitr role\'s password) is not set' },
  'pitr.no_barman': { kind: 'usage', meaning: 'barman cannot be started (not installed on the runner)' },
  'pitr.no_server_binaries': { kind: 'usage', meaning: 'pg_ctl/postgres of `pitr.bin_dir` cannot be started' },
  'pitr.as_root': { kind: 'usage', meaning: 'a recovery was asked for as root (PostgreSQL refuses to run as root)' },
  'pitr.bad_target': { kind: 'usage', meaning: '`--to` is neither a time with its offset nor an LSN' },
  'pitr.no_target': { kind: 'usage', meaning: 'no `--to` and no nightly set recorded a restore point to recover to' },
  'pitr.no_into': { kind: 'usage', meaning: '`restore --pitr` needs `--to` and `--into`' },
  'pitr.into_not_empty': { kind: 'usage', meaning: 'the `--into` folder is not empty; nothing was done' },
  'pitr.bad_path': { kind: 'usage', meaning: 'a folder handed to the throwaway server holds a quote, backslash, $ or backtick' },
  'pitr.barman_failed': { kind: 'failed', meaning: 'a barman command failed (its lines follow)' },
  'pitr.no_backup': { kind: 'failed', meaning: 'Barman holds no finished base backup' },
  'pitr.before_window': { kind: 'failed', meaning: 'the recovery target lies before the oldest base backup' },
  'pitr.no_barman_config': { kind: 'usage', meaning: 'Barman has no config in `pitr.barman_home` yet (`pitr setup` never ran here)' },
  'pitr.unknown_backup': { kind: 'failed', meaning: 'Barman holds no base backup of the id `show` was given' },
  'pitr.recovery_failed': { kind: 'failed', meaning: 'PostgreSQL could not recover to the target (WAL missing or damaged, base backup damaged)' },

  // remotes
  'remote.no_keys': { kind: 'usage', meaning: 'an S3 remote needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY' },
  'remote.failed': { kind: 'failed', meaning: 'a remote copy failed (not mounted, read-only, full, refused); the local set is complete' },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

