/** Field rules shared by the config file's sections, engine sections included. A leaf module (zod only). */
import { z } from 'zod';

const PORT_RULE = 'must be a port number from 1 to 65535';
export const port = z.number().int(PORT_RULE).min(1, PORT_RULE).max(65535, PORT_RULE);
/** Database identifiers we pass to tools and SQL: plain names only. */
export const dbName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a plain database name (letters, digits, _; not starting with a digit)');
export const host = z.string().min(1).regex(/^[A-Za-z0-9._:-]+$/, 'must be a host name or IP address');
export const absOrRelPath = z.string().min(1).max(4096);
