/** Masking secrets in log lines and in JSON values (src/report/log.ts). */
import { describe, expect, it } from 'vitest';
import { RunLog, silentSink } from '../../src/report/log.js';
import { maskDeep, maskText } from '../../src/shared/mask.js';

describe('maskDeep', () => {
  const report = { status: 'success', free_bytes: 51234567890, message: 'pw 123456 and "q\\x', nested: [{ status: 'failure', note: 'status' }], none: null, ok: true };

  it('masks strings only: numbers, booleans, null and keys stay', () => {
    const out = maskDeep(report, (t) => maskText(t, ['123456', 'status']));
    expect(out).toEqual({ status: 'success', free_bytes: 51234567890, message: 'pw *** and "q\\x', nested: [{ status: 'failure', note: '***' }], none: null, ok: true });
    expect(JSON.parse(JSON.stringify(out))).toEqual(out);
  });

  it('a secret with a quote and a backslash is masked (it would hide behind JSON escapes in text)', () => {
    const secret = 'p"w\\1';
    const out = maskDeep({ a: `x ${secret} y` }, (t) => maskText(t, [secret]));
    expect(out.a).toBe('x *** y');
  });

  it('does not change its input', () => {
    const copy = structuredClone(report);
    maskDeep(report, () => '***');
    expect(report).toEqual(copy);
  });

  it('RunLog.maskDeep uses the run\'s secrets, longest first', () => {
    const log = new RunLog(silentSink, ['abc', 'abcdef']);
    expect(log.maskDeep({ m: 'abcdef abc' })).toEqual({ m: '*** ***' });
  });
});
