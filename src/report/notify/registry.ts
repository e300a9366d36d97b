/**
 * The notifier table: one entry per `notify:` kind. To add a kind, write a module exporting a
 * Notifier (notifier.ts) and register it here; its name is then a valid `kind:` in the config.
 */
import { dingtalk } from './dingtalk.js';
import { feishu } from './feishu.js';
import { generic } from './generic.js';
import type { Notifier } from './notifier.js';
import { slack } from './slack.js';
import { wecom } from './wecom.js';

export const NOTIFIERS = { wecom, dingtalk, feishu, slack, generic } as const satisfies Record<string, Notifier>;
export type NotifierKind = keyof typeof NOTIFIERS;
/** The kinds, in table order: what `notify: kind:` accepts and the report names. */
export const NOTIFIER_KINDS = Object.keys(NOTIFIERS) as [NotifierKind, ...NotifierKind[]];
