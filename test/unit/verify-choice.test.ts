/** Which set `verify` checks when none is named (catalog/sets.ts newestVerifiable). */
import { describe, expect, it } from 'vitest';
import { newestVerifiable, type SetEntry } from '../../src/catalog/sets.js';
import type { Manifest } from '../../src/catalog/manifest.js';

// Only the fields newestVerifiable reads; listSets hands them over newest first. Every entry has
// a manifest, incomplete ones too: so it is the status itself that keeps an incomplete set out.
function entry(id: string, kind: SetEntry['kind'], o: { status?: SetEntry['status']; engine?: 'postgres' | 'tdengine' | null; startedAt?: string } = {}): SetEntry {
  const engine = o.engine === undefined ? 'postgres' : o.engine;
  const manifest = { ...(engine ? { [engine]: { database: 'mystocks' } } : { config: {} }), started_at: o.startedAt ?? '2026-11-24T00:00:03.000+08:00' } as unknown as Manifest;
  const status = o.status ?? 'complete';
  return { id, kind, status, path: `/b/${kind}/${id}`, manifest, reason: status === 'complete' ? null : 'a file does not match the manifest', verification: null };
}

const NOW = new Date('2026-11-25T12:00:00Z');

describe('newestVerifiable', () => {
  it('the newest complete daily or milestone, skipping safety and config sets and incomplete ones', () => {
    const sets = [
      entry('safety_mystocks_20261125_031500', 'safety'),
      entry('config_20261125_020000', 'config', { engine: null }),
      entry('mystocks_20261125_000003', 'daily', { status: 'incomplete' }),
      entry('post_phase2_20261124', 'milestone'),
      entry('mystocks_20261124_000003', 'daily'),
    ];
    expect(newestVerifiable(sets, NOW)?.id).toBe('post_phase2_20261124');
  });

  it('a TDengine-only daily counts', () => {
    expect(newestVerifiable([entry('safety_x', 'safety'), entry('market_data_20261125_010002', 'daily', { engine: 'tdengine' })], NOW)?.id).toBe('market_data_20261125_010002');
  });

  it('with an engine: the newest complete set holding it, so the PostgreSQL set of 00:00 is found behind the TDengine set of 01:00', () => {
    const sets = [
      entry('market_data_20261125_010002', 'daily', { engine: 'tdengine' }),
      entry('mystocks_20261125_000003', 'daily', { engine: 'postgres', status: 'incomplete' }),
      entry('mystocks_20261124_000003', 'daily', { engine: 'postgres' }),
    ];
    expect(newestVerifiable(sets, NOW)?.id).toBe('market_data_20261125_010002');
    expect(newestVerifiable(sets, NOW, 'tdengine')?.id).toBe('market_data_20261125_010002');
    expect(newestVerifiable(sets, NOW, 'postgres')?.id).toBe('mystocks_20261124_000003');
    expect(newestVerifiable(sets.slice(0, 2), NOW, 'postgres')).toBeUndefined();
  });

  it('nothing to verify: only safety and config sets', () => {
    expect(newestVerifiable([entry('safety_x', 'safety'), entry('config_y', 'config', { engine: null })], NOW)).toBeUndefined();
  });

  it('a set dated in the future (clock skew, a copied set) is never the default; a few minutes of skew are tolerated', () => {
    const sets = [
      entry('mystocks_20261203_000003', 'daily', { startedAt: '2026-12-03T00:00:03.000+08:00' }),
      entry('mystocks_20261125_200400', 'daily', { startedAt: '2026-11-25T20:04:00.000+08:00' }),
      entry('mystocks_20261125_000003', 'daily', { startedAt: '2026-11-25T00:00:03.000+08:00' }),
    ];
    expect(newestVerifiable(sets, NOW)?.id).toBe('mystocks_20261125_200400'); // 4 minutes ahead: within the tolerance
    expect(newestVerifiable(sets.slice(0, 1).concat(sets.slice(2)), NOW)?.id).toBe('mystocks_20261125_000003');
  });
});
