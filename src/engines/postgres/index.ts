/** The PostgreSQL engine's public names: the engine, its archives reader, and the pure rules of its parts. */
export { PostgresEngine } from './engine.js';
export { PgArchives, parseArchiveHeader, parseRestoreList, type PgArchiveInfo } from './archives.js';
export { INSTALL_HINT, isDumpErrorLine } from './client.js';
export { clientTooOld, parseClientVersion, parseServerVersionNum, type PgVersion } from './versions.js';
export { timeoutResets } from './session.js';
export { progressIntervalMs } from './dump.js';
export { countSql, countTables, isPermissionError, listCountTargets, qualifiedName, quoteIdent, type CountTarget, type PgCounts } from './counts.js';
export { createSql, databaseShape, isReservedName, oldName, quoteWith, shapeSql, splitList, stagingName, swapIn, type DatabaseShape } from './admin.js';
export { archiveProblem, compareWithManifest, pgDumpPath, refuseOldCopy, type RestoreOptions } from './restore.js';
