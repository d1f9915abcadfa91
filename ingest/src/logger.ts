import { type Logger, pino } from 'pino';

export type { Logger };

/** JSON lines on stdout; the collector adds host and time zone, so nothing else is configured. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'ingest' } });
}
