/** Every error a user can meet says what to do (src/errors.ts). */
import { describe, expect, it } from 'vitest';
import { CancelledError, EXIT, INTERNAL_HINT, JobError, UsageError, describe as describeError, exitCodeOf } from '../../src/errors.js';

describe('describe()', () => {
  it('keeps a typed error\'s code and hint', () => {
    expect(describeError(new JobError('lock.held', 'held', { hint: 'wait' }))).toEqual({ message: 'held', code: 'lock.held', hint: 'wait' });
  });
  it('gives errors nobody anticipated a hint too', () => {
    expect(describeError(new Error('EACCES: permission denied, open /x'))).toEqual({ message: 'EACCES: permission denied, open /x', code: 'internal', hint: INTERNAL_HINT });
    expect(describeError('a string')).toMatchObject({ code: 'internal', hint: INTERNAL_HINT });
  });
  it('exit codes: usage 2, everything else 1', () => {
    expect(exitCodeOf(new UsageError('usage.invalid', 'x', { hint: 'h' }))).toBe(EXIT.usage);
    expect(exitCodeOf(new JobError('space.low', 'x', { hint: 'h' }))).toBe(EXIT.failed);
    expect(exitCodeOf(new CancelledError('SIGTERM'))).toBe(EXIT.failed);
    expect(exitCodeOf(new Error('x'))).toBe(EXIT.failed);
  });
  it('a code that is not in src/error-codes.ts does not compile', () => {
    // @ts-expect-error -- the type check (tsconfig.check.json) fails here if the classes take any string
    expect(new UsageError('no.such_code', 'x').code).toBe('no.such_code');
    // @ts-expect-error -- likewise for job failures
    expect(new JobError('no.such_code', 'x').code).toBe('no.such_code');
  });
});
