/** Kept equal to package.json's version by a test (a JSON import would drag package.json into the bundle). */
export const TOOL_NAME = 'pgtaos-backup';
export const TOOL_VERSION = '1.0.0';
