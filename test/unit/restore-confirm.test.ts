import { describe, expect, it } from 'vitest';
import { checkConfirmation, pickEngine } from '../../src/commands/restore.js';
import { UsageError } from '../../src/errors.js';

describe('restore confirmation', () => {
  it('passes only when --confirm repeats --target exactly', () => {
    expect(checkConfirmation('mystocks', 'mystocks')).toBe('mystocks');
  });
  it.each([
    ['mystocks', undefined],
    ['mystocks', ''],
    ['mystocks', 'Mystocks'],
    ['mystocks', 'mystocks '],
    [undefined, 'mystocks'],
    ['my stocks', 'my stocks'],
    ['../x', '../x'],
  ])('refuses target %j with confirm %j', (target, confirm) => {
    expect(() => checkConfirmation(target, confirm)).toThrow(UsageError);
  });
});

describe('which engine a restore puts back', () => {
  it('a single-engine set: that engine', () => {
    expect(pickEngine(['postgres'], 'all', 's_20260101')).toBe('postgres');
    expect(pickEngine(['tdengine'], 'all', 's_20260101')).toBe('tdengine');
  });
  it('a set holding both: --engines must say which', () => {
    expect(() => pickEngine(['postgres', 'tdengine'], 'all', 's_20260101')).toThrow(/one at a time/);
    expect(pickEngine(['postgres', 'tdengine'], 'tdengine', 's_20260101')).toBe('tdengine');
  });
  it('an engine the set does not hold is refused', () => {
    expect(() => pickEngine(['postgres'], 'tdengine', 's_20260101')).toThrow(UsageError);
  });
});
