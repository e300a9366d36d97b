/** Which set `verify` checks when none is named (catalog/sets.ts newestVerifiable). */
import { describe, expect, it } from 'vitest';
import { newestVerifiable, type SetEntry } from '../../src/catalog/sets.js';
import type { Manifest } from '../../src/catalog/manifest.js';

// Only the fields newestVerifiable reads; listSets hands them over newest first. Every entry has
// a manifest, incomplete ones too: so it is the status itself that keeps an incomplete set out.
function entry(id: string, kind: SetEntry['kind'], o: { status?: SetEntry['status']; engine?: 'postgres' | 'tdengine' | null } = {}): SetEntry {
  const engine = o.engine === undefined ? 'postgres' : o.engine;
  const manifest = (engine ? { [engine]: { database: 'mystocks' } } : { config: {} }) as unknown as Manifest;
  const status = o.status ?? 'complete';
  return { id, kind, status, path: `/b/${kind}/${id}`, manifest, reason: status === 'complete' ? null : 'a file does not match the manifest', verification: null };
}

describe('newestVerifiable', () => {
  it('the newest complete daily or milestone, skipping safety and config sets and incomplete ones', () => {
    const sets = [
      entry('safety_mystocks_20261125_031500', 'safety'),
      entry('config_20261125_020000', 'config', { engine: null }),
      entry('mystocks_20261125_000003', 'daily', { status: 'incomplete' }),
      entry('post_phase2_20261124', 'milestone'),
      entry('mystocks_20261124_000003', 'daily'),
    ];
    expect(newestVerifiable(sets)?.id).toBe('post_phase2_20261124');
  });

  it('a TDengine-only daily counts', () => {
    expect(newestVerifiable([entry('safety_x', 'safety'), entry('market_data_20261125_010002', 'daily', { engine: 'tdengine' })])?.id).toBe('market_data_20261125_010002');
  });

  it('nothing to verify: only safety and config sets', () => {
    expect(newestVerifiable([entry('safety_x', 'safety'), entry('config_y', 'config', { engine: null })])).toBeUndefined();
  });
});
