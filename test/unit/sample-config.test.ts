/**
 * ops/pgtaos-backup.yml, the sample every shipped workflow points at: it parses with the real
 * config schema (its commented remote block too, once uncommented), it is the runbook's production
 * example, and it holds no secret: only the names of the environment variables the workflows map.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig, SAMPLE_CONFIG } from '../../src/inputs/config.js';

const repo = path.resolve(new URL('../..', import.meta.url).pathname);
const sample = path.join(repo, SAMPLE_CONFIG);
const text = readFileSync(sample, 'utf8');
const workflowsDir = path.join(repo, '.github/workflows');

describe(SAMPLE_CONFIG, () => {
  it('parses with the real config schema: the runbook\'s production example', () => {
    const { config, file } = loadConfig({ file: sample, env: {} });
    expect(file).toBe(sample);
    expect(config.root).toBe('/opt/claude/mystocks_backup');
    expect(config.timezone).toBe('Asia/Shanghai');
    expect(config.min_free_gb).toBe(5);
    // The production host is named in the sample (a document), never in code or tests: both engines point at it.
    expect(config.postgres!.host).toBe(config.tdengine!.host);
    expect(config.postgres).toMatchObject({ port: 5438, database: 'mystocks', user: 'postgres', bin_dir: '/usr/lib/postgresql/17/bin' });
    expect(config.tdengine).toMatchObject({ port: 6030, database: 'market_data', user: 'root' });
    expect(config.retention).toMatchObject({ daily_days: 7 });
    expect(config.config_files).toEqual({ base_dir: '/opt/claude/mystocks_spec', paths: ['.env', 'table_config.yaml', 'config'] });
  });

  it('its commented remotes block parses too, once uncommented', () => {
    const lines = text.split('\n');
    const from = lines.findIndex((l) => l.startsWith('# remotes:'));
    expect(from).toBeGreaterThan(0);
    const block: string[] = [];
    for (const l of lines.slice(from)) {
      if (!l.startsWith('#') || l === '#') break;
      block.push(l.replace(/^# ?/, ''));
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pgtaos-sample-'));
    const file = path.join(dir, 'pgtaos-backup.yml');
    writeFileSync(file, `${text}\n${block.join('\n')}\n`);
    const { config } = loadConfig({ file, env: {} });
    expect(config.remotes.map((r) => r.name)).toEqual(['nas', 'oss']);
  });

  it('holds no secret: no password, key or webhook URL, only variable names', () => {
    expect(text).not.toMatch(/^\s*[a-z_]*(password|secret|key)\s*:/im);
    expect(text).not.toMatch(/(PGPASSWORD|TDENGINE_PASSWORD|AWS_SECRET_ACCESS_KEY)\s*=/);
    expect(text).not.toMatch(/taosdata/);
    // The only URL is the S3 endpoint (no credentials in it); no webhook URL.
    const urls = text.match(/https?:\/\/\S+/g) ?? [];
    expect(urls).toEqual(['https://oss-cn-shanghai.aliyuncs.com']);
    const config = parse(text) as { notify: { url_env: string; secret_env?: string }[] };
    for (const n of config.notify) {
      expect(n.url_env).toMatch(/^[A-Z][A-Z0-9_]*$/);
      if (n.secret_env) expect(n.secret_env).toMatch(/^[A-Z][A-Z0-9_]*$/);
    }
  });

  it('every variable its notify entries name is one the nightly workflow maps from a secret of that name', () => {
    const nightly = readFileSync(path.join(workflowsDir, 'nightly-backup.yml'), 'utf8');
    const config = parse(text) as { notify: { url_env: string; secret_env?: string }[] };
    for (const name of config.notify.flatMap((n) => [n.url_env, n.secret_env ?? []].flat())) {
      expect(nightly, name).toContain(`${name}: \${{ secrets.${name} }}`);
    }
  });

  it('every shipped workflow that names a config file names this one, and it exists', () => {
    expect(existsSync(sample)).toBe(true);
    const named = readdirSync(workflowsDir)
      .flatMap((f) => [...readFileSync(path.join(workflowsDir, f), 'utf8').matchAll(/^\s*config: (\S+)\s*$/gm)].map((m) => [f, m[1]!] as const));
    expect(named.length).toBeGreaterThan(5);
    for (const [f, value] of named) expect(value, f).toBe(SAMPLE_CONFIG);
  });
});
