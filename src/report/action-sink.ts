/** The Actions log as a sink: warnings and errors become annotations, groups fold. */
import * as core from '@actions/core';
import type { Sink } from './log.js';

export const actionSink: Sink = {
  info: (l) => core.info(l),
  warn: (l) => core.warning(l),
  error: (l) => core.error(l),
  startGroup: (t) => core.startGroup(t),
  endGroup: () => core.endGroup(),
};
