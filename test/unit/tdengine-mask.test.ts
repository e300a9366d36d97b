// The TDengine engine masks its password with the run log's floor (3 characters), and scrubs
// taosdump's result file (older versions wrote `password: <value>` into it) whatever the length.
import { describe, expect, it } from 'vitest';
import { maskPassword, scrubResultText } from '../../src/engines/tdengine.js';
import { RunLog, silentSink } from '../../src/report/log.js';

describe('maskPassword: the same floor as the run log', () => {
  it.each(['abc', 'Td_s3cret-Pw'])('%s is masked in engine text, as RunLog masks it', (pw) => {
    const line = `ERROR: Failed to connect to server 127.0.0.1 with ${pw}!`;
    expect(maskPassword(line, pw)).toBe('ERROR: Failed to connect to server 127.0.0.1 with ***!');
    expect(new RunLog(silentSink, [pw]).mask(line)).toBe(maskPassword(line, pw));
  });

  it.each(['', 'a', 'ab'])('%j (shorter than 3) is left alone, as RunLog leaves it: masking it would shred the text', (pw) => {
    const line = 'OK: 30000 row(s) dumped out! ab';
    expect(maskPassword(line, pw)).toBe(line);
    expect(new RunLog(silentSink, [pw]).mask(line)).toBe(line);
  });
});

describe('scrubResultText: taosdump result files kept in a set', () => {
  const file = (pw: string) =>
    ['========== arguments config =========', 'host: 127.0.0.1', 'user: root', `password: ${pw}`, 'port: 6030', 'data_batch: 16383', ''].join('\n');

  it.each(['x', 'ab', 'abc', 'Td_s3cret-Pw'])('the password line is blanked whatever the length (%j)', (pw) => {
    const out = scrubResultText(file(pw), pw);
    expect(out).toContain('password: ***\n');
    expect(out.split('\n').find((l) => l.startsWith('password'))).toBe('password: ***');
    // the rest of the file is intact
    expect(out).toContain('host: 127.0.0.1\nuser: root\n');
    expect(out).toContain('data_batch: 16383\n');
  });

  it('a password of 3 or more characters is masked anywhere else too', () => {
    const text = `${file('Td_s3cret-Pw')}# DumpOut: connect root:Td_s3cret-Pw@127.0.0.1\n`;
    expect(scrubResultText(text, 'Td_s3cret-Pw')).not.toContain('Td_s3cret-Pw');
  });

  it('a file without a password is unchanged (the scrub writes nothing back)', () => {
    const text = 'host: 127.0.0.1\nuser: root\nthread_num: 8\n';
    expect(scrubResultText(text, 'Td_s3cret-Pw')).toBe(text);
    expect(scrubResultText('password: \n', 'Td_s3cret-Pw')).toBe('password: \n');
  });
});
