// Pure parts of the TDengine engine: versions, option support, epoch bounds.
import { describe, expect, it } from 'vitest';
import { parseTdVersion, passwordLimit, supportsDriverOption, supportsRename, toEpoch, versionProblem, type TdVersion } from '../../src/engines/tdengine.js';

const v = (s: string): TdVersion => parseTdVersion(s)!;

describe('TDengine versions', () => {
  it('parses server and taosdump versions', () => {
    expect(v('3.3.7.5.alpha').parts).toEqual([3, 3, 7, 5]);
    expect(v('3.3.6.13').parts).toEqual([3, 3, 6, 13]);
    expect(v('3.2').parts).toEqual([3, 2, 0, 0]);
    expect(parseTdVersion('unknown')).toBeNull();
  });

  it('same major.minor passes; a different one is refused naming both and the client to install', () => {
    expect(versionProblem(v('3.3.7.5.alpha'), v('3.3.6.13'))).toBeNull();
    const p = versionProblem(v('3.3.6.13'), v('3.2.3.0'), '/usr/bin/taosdump')!;
    expect(p.code).toBe('tdengine.version_mismatch');
    expect(p.message).toContain('taosdump 3.2.3.0 (/usr/bin/taosdump)');
    expect(p.message).toContain('TDengine 3.3.6.13 server');
    expect(p.hint).toContain('TDengine-client-3.3.6.13-Linux-x64.tar.gz');
  });

  it('3.4.1 and newer (taosBackup era) is refused with its own message, on either side', () => {
    expect(versionProblem(v('3.4.1.1'), v('3.4.1.1'))?.code).toBe('tdengine.taosbackup_era');
    expect(versionProblem(v('3.3.6.13'), v('3.4.1.6'))?.code).toBe('tdengine.taosbackup_era');
    expect(versionProblem(v('3.4.0.1'), v('3.4.0.1'))).toBeNull();
  });

  it('knows which taosdump has -Z, -W and how long a password it reads', () => {
    expect(supportsDriverOption(v('3.3.6.0'))).toBe(true);
    expect(supportsDriverOption(v('3.3.5.6'))).toBe(false);
    expect(supportsRename(v('3.2.2.0'))).toBe(true);
    expect(supportsRename(v('3.1.1.17'))).toBe(true);
    expect(supportsRename(v('3.1.1.16'))).toBe(false);
    expect(supportsRename(v('3.2.1.0'))).toBe(false);
    expect(passwordLimit(v('3.3.5.6'))).toBe(20);
    expect(passwordLimit(v('3.3.6.13'))).toBe(255);
  });

  it('-E / _c0 bounds are epochs in the database precision', () => {
    const at = new Date('2025-06-01T01:00:00.123Z');
    expect(toEpoch(at, 'ms')).toBe('1748739600123');
    expect(toEpoch(at, 'us')).toBe('1748739600123000');
    expect(toEpoch(at, 'ns')).toBe('1748739600123000000');
  });
});
