import { describe, expect, it } from 'vitest';
import { checkConfirmation } from '../../src/commands/restore.js';
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
