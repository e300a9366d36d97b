/**
 * The drivers that ship: a mounted folder (`path`) and S3-compatible storage (`s3`), registered
 * in that order (the order the config's error for an unknown `type` lists them in). Imported for
 * its effect by the config schema, so any parsed config can name them.
 */
import { pathDriver } from './path.js';
import { registerRemoteDriver } from './registry.js';
import { s3Driver } from './s3.js';

registerRemoteDriver(pathDriver);
registerRemoteDriver(s3Driver);
