import { type Logger, pino } from 'pino';

export type { Logger };

/** JSON lines on stdout, like the other services. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'reporter' } });
}
