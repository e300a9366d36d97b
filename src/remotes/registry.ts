/**
 * From config to drivers: one factory, the names remotes go by, and which kinds of set each takes.
 */
import { UsageError } from '../errors.js';
import type { SetKind } from '../catalog/labels.js';
import type { Config, RemoteConfig } from '../inputs/config-schema.js';
import { PathRemote } from './path.js';
import type { Remote } from './remote.js';
import { S3Remote } from './s3.js';

/** The remote's `name`, or one made from where it is: `path:/mnt/nas/x`, `s3:bucket/prefix`. */
export function remoteName(r: RemoteConfig): string {
  if (r.name) return r.name;
  if (r.type === 'path') return `path:${r.path}`;
  const p = r.prefix.split('/').filter(Boolean).join('/');
  return `s3:${r.bucket}${p ? `/${p}` : ''}`;
}

export type RemoteTakes = { takes: true } | { takes: false; why: string };

/**
 * Does this remote take sets of this kind? Milestones: every remote. Config snapshots: every
 * remote, but only encrypted (they hold .env secrets). Dailies and safety copies: only where the
 * remote's `include` names them.
 */
export function remoteTakes(r: RemoteConfig, kind: SetKind, encrypted: boolean): RemoteTakes {
  if (kind === 'milestone') return { takes: true };
  if (kind === 'config') {
    return encrypted ? { takes: true } : { takes: false, why: 'config snapshots hold secrets (.env) and never leave the machine unencrypted: encryption.age_recipients is empty' };
  }
  return (r.include ?? []).includes(kind) ? { takes: true } : { takes: false, why: `the remote takes ${kind} sets only with \`include: [${kind}]\`` };
}

/** Refuses two remotes with the same name (records beside sets are keyed by it). */
export function checkRemoteNames(config: Pick<Config, 'remotes'>): void {
  const seen = new Set<string>();
  for (const r of config.remotes) {
    const n = remoteName(r);
    if (seen.has(n)) {
      throw new UsageError('config.remote_name', `two remotes are named ${n}`, { hint: 'Give each remote its own `name:`.' });
    }
    seen.add(n);
  }
}

export interface OpenOptions {
  /** The backup root (config `root`): a path remote with require_mount must not be on its filesystem. */
  backupRoot?: string;
}

/**
 * Builds the driver. Throws UsageError (exit 2) for what is wrong before any connection (missing
 * keys). Nothing heavy is loaded here: the S3 SDK is imported on the remote's first request.
 */
export function openRemote(r: RemoteConfig, env: NodeJS.ProcessEnv, opts: OpenOptions = {}): Remote {
  const name = remoteName(r);
  switch (r.type) {
    case 'path':
      return new PathRemote({ name, path: r.path, requireMount: r.require_mount, ...(opts.backupRoot === undefined ? {} : { backupRoot: opts.backupRoot }) });
    case 's3':
      return new S3Remote({ name, endpoint: r.endpoint, bucket: r.bucket, prefix: r.prefix, region: r.region, forcePathStyle: r.force_path_style, partSizeMb: r.part_size_mb, env });
  }
}
