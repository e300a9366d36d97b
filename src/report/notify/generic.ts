/**
 * Any HTTP endpoint: the JSON report itself, with the events in X-Pgtaos-Event; with secret_env,
 * X-Pgtaos-Signature-256: sha256=<hex HMAC of the body>. Accepts with any 2xx.
 */
import { createHmac } from 'node:crypto';
import { eventsOf } from './events.js';
import { judgeHttp, type Notifier } from './notifier.js';

export function genericSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

export const generic: Notifier = {
  signed: true,
  request({ url, secret, result, headers }) {
    const body = JSON.stringify(result);
    const events = eventsOf(result).join(',');
    return { url, body, headers: { ...headers, 'x-pgtaos-event': events, ...(secret ? { 'x-pgtaos-signature-256': genericSignature(secret, body) } : {}) } };
  },
  judge: judgeHttp,
};
