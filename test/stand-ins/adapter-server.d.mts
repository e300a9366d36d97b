// Types for adapter-server.mjs (taosAdapter REST stand-in). STAND-IN, test code only.
import type { Store } from './store.mjs';

export interface TaosAdapterHandle {
  port: number;
  /** http://127.0.0.1:<port> */
  url: string;
  /** apply the store's adapterUp switch now (the stand-in also polls it every pollMs) */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export interface StartTaosAdapterOptions {
  /** store folder or an opened Store */
  store: string | Store;
  /** 0 (default): a free port */
  port?: number;
  /** how often the adapterUp switch is polled, ms (default 25) */
  pollMs?: number;
}

export declare function startTaosAdapter(opts: StartTaosAdapterOptions): Promise<TaosAdapterHandle>;

export declare function executeSql(
  store: Store,
  sql: string,
  defaultDb?: string,
): { meta: [string, string, number][]; data: unknown[][] } | { affected: number };
