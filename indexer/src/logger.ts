/** JSON logs (pino) on stdout: one object per line, ready for any log shipper. */
import { type Logger, pino } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ name: 'indexer', level, base: { service: 'indexer' }, timestamp: pino.stdTimeFunctions.isoTime });
}
