/**
 * A TDengine "server" made of the stand-ins (test/stand-ins/), for tests of the TDengine engine
 * and of the commands using it: a store seeded with market_data, the taosAdapter REST stand-in,
 * and a plain TCP listener on 127.0.0.1 standing for taosd's native port (the engine probes it
 * before running taosdump; the taosdump stand-in itself only compares -P with the store's
 * `nativePort`, which is set to this listener's port). Loopback only; temp dirs only.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  createStore,
  seedMarketData,
  standInEnv,
  startTaosAdapter,
  type SeedMarketDataOptions,
  type SeedSummary,
  type Store,
  type TaosAdapterHandle,
  type TaosdumpSwitches,
} from '../stand-ins/index.js';
import type { TdengineConfig } from '../../src/inputs/config-schema.js';

export type { TaosdumpSwitches } from '../stand-ins/index.js';

export interface TdStandIn {
  root: string;
  store: Store;
  seed: SeedSummary;
  adapter: TaosAdapterHandle;
  nativePort: number;
  password: string;
  /** A tdengine: config section pointing at this server. */
  config(overrides?: Partial<TdengineConfig>): TdengineConfig;
  /** standInEnv(store) plus TDENGINE_PASSWORD; `switches` set the taosdump stand-in's own (version, speed). */
  env(extra?: NodeJS.ProcessEnv, switches?: TaosdumpSwitches): NodeJS.ProcessEnv;
  /** taosd down: the native port closed and the store's taosdUp false (REST then answers code 11). */
  taosdDown(): Promise<void>;
  taosdUp(): Promise<void>;
  /** taosAdapter down (its listener closed) while taosd stays up. */
  adapterDown(): Promise<void>;
  /** taosAdapter answering again (after adapterDown). */
  adapterUp(): Promise<void>;
  /**
   * The native port unreachable from here (listener closed, and the taosdump stand-in cannot
   * connect either) while taosAdapter and taosd still answer REST, as behind a firewall.
   */
  nativeDown(): Promise<void>;
  close(): Promise<void>;
}

function listen(server: net.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

export async function startTdStandIn(opts: { password?: string; seed?: SeedMarketDataOptions } = {}): Promise<TdStandIn> {
  const password = opts.password ?? 'Td_s3cret-Pw';
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'td-standin-'));
  const store = createStore(path.join(root, 'store'), { server: { users: { root: password } } });
  const seed = seedMarketData(store, { childrenPerStable: 3, rowsPerChild: 20, normalTableRows: 5, ...opts.seed });
  const sockets = new Set<net.Socket>();
  let native: net.Server | null = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.end();
  });
  const nativePort = await listen(native, 0);
  store.updateServer({ nativePort });
  const adapter = await startTaosAdapter({ store });

  const closeNative = async () => {
    const n = native;
    native = null;
    if (!n) return;
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => n.close(() => resolve()));
  };

  return {
    root,
    store,
    seed,
    adapter,
    nativePort,
    password,
    config: (overrides = {}) => ({
      host: '127.0.0.1',
      port: nativePort,
      rest_port: adapter.port,
      database: 'market_data',
      user: 'root',
      threads: 2,
      batch_rows: 16383,
      stall_timeout_seconds: 300,
      ...overrides,
    }),
    env: (extra = {}, switches = {}) => standInEnv(store, { TDENGINE_PASSWORD: password, ...extra }, switches),
    taosdDown: async () => {
      store.updateServer({ taosdUp: false });
      await closeNative();
    },
    taosdUp: async () => {
      store.updateServer({ taosdUp: true });
      if (!native) {
        native = net.createServer((s) => s.end());
        await listen(native, nativePort);
      }
    },
    adapterDown: async () => {
      store.updateServer({ adapterUp: false });
      await adapter.refresh();
    },
    adapterUp: async () => {
      store.updateServer({ adapterUp: true });
      await adapter.refresh();
    },
    nativeDown: async () => {
      store.updateServer({ nativePort: -1 });
      await closeNative();
    },
    close: async () => {
      await adapter.close();
      await closeNative();
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
