/** What the TDengine engine is made of, as its dump and restore steps use it. */
import type { TdengineConfig } from '../../inputs/config-schema.js';
import type { TdCounter } from './counts.js';
import type { ScratchGuard } from './names.js';
import type { TdServer } from './server.js';
import type { Taosdump } from './taosdump.js';

export interface TdParts {
  readonly cfg: TdengineConfig;
  readonly server: TdServer;
  readonly counter: TdCounter;
  readonly tool: Taosdump;
  readonly guard: ScratchGuard;
}
