/**
 * Reports that reach people, through the bundles as users and the runner run them:
 *  - the action (dist/index.js): a failed nightly backup (nothing listens on the PostgreSQL port)
 *    posts to the chat webhooks, uploads its report and log with the bundled @actions/artifact to a
 *    local stand-in of the results service, and never prints the webhook URLs;
 *  - the CLI (dist/cli.js): `status --json` on a stale catalog posts the staleness alert.
 * Every server here is on 127.0.0.1 and started by the test.
 */
import { createHmac } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runResultSchema, type RunResult } from '../../src/report/result.js';
import { findPgBinDir, freePort } from '../helpers/pg-common.js';
import { cli, json, readJson, runAction, userEnv, workspace, type Workspace } from '../helpers/tool.js';
import { DAY_MS, writeFakeSet } from '../helpers/fake-catalog.js';
import { OK_BY_KIND, startWebhookServer, type WebhookServer } from '../helpers/webhook-server.js';
import { startResultsService, type ResultsService } from '../helpers/results-service.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function hooks(): Promise<WebhookServer> {
  const s = await startWebhookServer((req) => OK_BY_KIND[req.path.split('/')[1] as keyof typeof OK_BY_KIND] ?? { status: 404 });
  closers.push(() => s.close());
  return s;
}

const WECOM_TOKEN = 'e2e-wecom-key-0b6f1c2d-3e4f-5061-7283-94a5b6c7d8e9';
const DING_TOKEN = 'e2edingaccesstoken0123456789abcdef0123456789';
const DING_SECRET = 'SECe2e-dingtalk-signing-secret-42';
const FEISHU_TOKEN = 'e2e-feishu-hook-1a2b3c4d-5e6f-7a8b-9c0d-e1f2a3b4c5d6';

describe('the action: a failed nightly backup reaches the chat and the artifact store', () => {
  it('posts to WeCom and DingTalk (signed), uploads report + log, fails the step for the backup, prints no webhook URL', async () => {
    const s = await hooks();
    const svc: ResultsService = await startResultsService();
    closers.push(() => svc.close());
    const port = await freePort();
    const ws: Workspace = workspace(null, 'mystocks', {
      postgres: { host: '127.0.0.1', port, database: 'mystocks', bin_dir: findPgBinDir() },
      notify: [
        { kind: 'wecom', url_env: 'PGTAOS_WECOM_WEBHOOK', on: ['failure'] },
        { kind: 'dingtalk', url_env: 'PGTAOS_DINGTALK_WEBHOOK', secret_env: 'PGTAOS_DINGTALK_SECRET', on: ['failure', 'stale'] },
        { kind: 'slack', url_env: 'PGTAOS_SLACK_WEBHOOK', on: ['success'] },
      ],
    });
    const env: NodeJS.ProcessEnv = {
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'mystocks/ops',
      GITHUB_RUN_ID: '777',
      ACTIONS_RUNTIME_TOKEN: svc.token,
      ACTIONS_RESULTS_URL: `${svc.url}/`,
      PGTAOS_WECOM_WEBHOOK: s.url(`/wecom/cgi-bin/webhook/send?key=${WECOM_TOKEN}`),
      PGTAOS_DINGTALK_WEBHOOK: s.url(`/dingtalk/robot/send?access_token=${DING_TOKEN}`),
      PGTAOS_DINGTALK_SECRET: DING_SECRET,
      PGTAOS_SLACK_WEBHOOK: s.url('/slack/services/T0/B0/XXXXXXXXXXXXXXXXXXXXXXXX'),
    };
    const r = await runAction(ws, { command: 'backup', config: 'pgtaos-backup.yml', 'postgres-password': 'e2e-unused-password-77', 'upload-report': 'true', 'report-retention-days': '7' }, env);
    const { outputs, summary } = r;

    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(outputs.status).toBe('failure');
    const report = readJson<RunResult>(outputs['report-path']!);
    expect(runResultSchema.parse(report)).toEqual(report);
    expect(report.error?.code).toBe('postgres.unreachable');
    expect(report.notifications.map((n) => [n.kind, n.delivered])).toEqual([
      ['wecom', true],
      ['dingtalk', true],
    ]);

    // The chat messages.
    expect(s.to('/slack')).toEqual([]);
    const wecom = (s.to('/wecom')[0]!.json() as { msgtype: string; markdown: { content: string } });
    expect(wecom.msgtype).toBe('markdown');
    expect(wecom.markdown.content).toContain('pgtaos-backup backup FAILED');
    expect(wecom.markdown.content).toContain(`cannot connect to PostgreSQL at postgres@127.0.0.1:${port}/mystocks`);
    expect(wecom.markdown.content).toContain('https://github.com/mystocks/ops/actions/runs/777');
    const ding = s.to('/dingtalk')[0]!;
    const ts = ding.query.get('timestamp')!;
    const sign = createHmac('sha256', DING_SECRET).update(`${ts}\n${DING_SECRET}`).digest('base64');
    expect(ding.query.get('sign')).toBe(sign);
    // On the wire, URL-encoded: the Base64 of a SHA-256 always ends in "=", sent as %3D.
    expect(ding.rawUrl).toContain(`&sign=${encodeURIComponent(sign)}`);
    expect(ding.rawUrl).toMatch(/&sign=[^&]*%3D(&|$)/);

    // The artifact: report and log, through the bundled @actions/artifact.
    expect(svc.artifacts.map((a) => [a.name.replace(/\d{8}T\d{6}Z$/, 'T'), a.finalized])).toEqual([['pgtaos-backup-backup-no-set-T', true]]);
    const base = path.basename(outputs['report-path']!);
    expect([...svc.artifacts[0]!.files.keys()].sort()).toEqual([base, base.replace(/\.json$/, '.log')].sort());
    expect(summary).toContain('### Notifications');
    expect(summary).toMatch(/report artifact pgtaos-backup-backup-no-set-\S+ uploaded/);

    // The URLs are secrets: registered with the runner, and printed nowhere else.
    expect(r.stdout).toContain(`::add-mask::${env.PGTAOS_WECOM_WEBHOOK}`);
    const printed = r.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::')).join('\n') + r.stderr + summary + readFileSync(outputs['report-path']!, 'utf8') + readFileSync(report.log_path!, 'utf8');
    for (const secret of [WECOM_TOKEN, DING_TOKEN, DING_SECRET]) expect(printed).not.toContain(secret);
  });
});

describe('the CLI: a stale catalog reaches the chat', () => {
  it('status --json posts the staleness alert to Feishu and prints a valid report', async () => {
    const s = await hooks();
    const ws = workspace(null, 'mystocks', {
      postgres: { host: '127.0.0.1', port: 5432, database: 'mystocks' },
      notify: [{ kind: 'feishu', url_env: 'PGTAOS_FEISHU_WEBHOOK', on: ['stale'] }],
    });
    mkdirSync(path.join(ws.root, 'logs'), { recursive: true });
    await writeFakeSet(ws.root, { kind: 'daily', id: 'mystocks_20261120_000003', startedAt: new Date(Date.now() - 2 * DAY_MS), verification: { result: 'passed', at: new Date(Date.now() - 2 * DAY_MS) } });
    const r = await cli(['status', '--json'], { env: userEnv(null, { PGTAOS_FEISHU_WEBHOOK: s.url(`/feishu/open-apis/bot/v2/hook/${FEISHU_TOKEN}`) }), cwd: ws.dir });
    expect(r.code, r.stderr).toBe(1);
    const result = json<RunResult>(r);
    expect(runResultSchema.parse(result)).toEqual(result);
    expect(result.stale).toEqual(['postgres backup']);
    const card = s.to('/feishu')[0]!.json() as { msg_type: string; card: { header: { template: string; title: { content: string } }; elements: { text: { content: string } }[] } };
    expect(card.msg_type).toBe('interactive');
    expect(card.card.header.template).toBe('orange');
    expect(card.card.header.title.content).toContain('pgtaos-backup status FAILED: backups are stale');
    expect(card.card.elements[0]!.text.content).toMatch(/stale: postgres backup:\*\* newest: mystocks_20261120_000003 \(daily\).*48\.\d h old > 26 h/);
    expect(r.stdout + r.stderr).not.toContain(FEISHU_TOKEN);
  });
});
