/** JSON logs (pino) on stdout: one object per line; every request line carries its request id. */
import { type Logger, pino } from 'pino';

export type { Logger };

/** `destination` is for tests, which read the production logger's lines; the service logs to stdout. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name: 'gateway',
    level,
    base: { service: 'gateway' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: ['req.headers.authorization', 'req.headers["x-api-key"]'],
  };
  return destination ? pino(options, destination) : pino(options);
}
