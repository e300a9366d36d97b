/**
 * The notifier table: every kind the config accepts has one module registered, each reads its
 * service's answers, and only kinds that sign use secret_env.
 */
import { describe, expect, it } from 'vitest';
import { NOTIFIERS, NOTIFIER_KINDS, RATE_LIMIT_CODES, judgeAnswer, notify, type NotifyLog } from '../../src/report/notify.js';
import { notifySchema, type NotifyConfig } from '../../src/inputs/config-schema.js';
import { notificationSchema } from '../../src/report/result.js';
import { DUMP_FAILED, baseResult } from '../helpers/run-result.js';

describe('notifier table', () => {
  it('the config, the report and the table name the same kinds', () => {
    expect(notifySchema.shape.kind.options).toEqual(Object.keys(NOTIFIERS));
    expect(notificationSchema.shape.kind.options).toEqual(NOTIFIER_KINDS);
  });

  const answers: [NotifyConfig['kind'], number, string, ReturnType<typeof judgeAnswer>][] = [
    ['wecom', 200, '{"errcode":0,"errmsg":"ok"}', { ok: true }],
    ['wecom', 200, `{"errcode":${RATE_LIMIT_CODES.wecom[0]},"errmsg":"api freq out of limit"}`, { ok: false, retry: true, error: 'rate limited (errcode 45009: api freq out of limit)' }],
    ['dingtalk', 200, '{"errcode":310000,"errmsg":"sign not match"}', { ok: false, retry: false, error: 'errcode 310000: sign not match' }],
    ['feishu', 400, '{"code":9499,"msg":"too many request"}', { ok: false, retry: true, error: 'rate limited (code 9499: too many request)' }],
    ['feishu', 200, '{"StatusCode":0,"StatusMessage":"success"}', { ok: true }],
    ['feishu', 200, 'not json', { ok: false, retry: false, error: 'the answer is not JSON: not json' }],
    ['slack', 200, 'ok', { ok: true }],
    ['slack', 404, 'no_service', { ok: false, retry: false, error: 'HTTP 404: no_service' }],
    ['generic', 503, '', { ok: false, retry: true, error: 'HTTP 503' }],
  ];
  for (const [kind, status, text, verdict] of answers) {
    it(`${kind} answers HTTP ${status} ${text || '(empty)'}`, () => expect(judgeAnswer(kind, status, text)).toEqual(verdict));
  }

  it('secret_env is ignored, with a warning, only by the kinds that do not sign', async () => {
    const warned: NotifyConfig['kind'][] = [];
    for (const kind of NOTIFIER_KINDS) {
      const warns: string[] = [];
      const log: NotifyLog = { info: () => undefined, warn: (l) => warns.push(l) };
      const ok = kind === 'feishu' ? '{"code":0}' : kind === 'wecom' || kind === 'dingtalk' ? '{"errcode":0}' : 'ok';
      const fetchOk: typeof fetch = () => Promise.resolve(new Response(ok, { status: 200 }));
      const entry: NotifyConfig = { kind, url_env: 'HOOK_URL', secret_env: 'HOOK_SECRET', on: ['failure'] };
      const [sent] = await notify([entry], baseResult(DUMP_FAILED), { env: { HOOK_URL: 'http://127.0.0.1:9/hook', HOOK_SECRET: 'a-signing-secret' }, log, fetch: fetchOk });
      expect(sent?.delivered).toBe(true);
      if (warns.some((w) => w.includes('webhooks are not signed; secret_env HOOK_SECRET is ignored'))) warned.push(kind);
    }
    expect(warned).toEqual(['wecom', 'slack']);
  });
});
