// taosAdapter REST stand-in (test code only): obeys docs/tdengine.md, section
// "Queries: use the REST API, not `taos -s`". The implementation is plain JS in adapter-server.mjs so
// that taosadapter-cli.mjs can start it without a TypeScript loader; this file gives it types.
export { startTaosAdapter, executeSql } from './adapter-server.mjs';
export type { TaosAdapterHandle, StartTaosAdapterOptions } from './adapter-server.mjs';
