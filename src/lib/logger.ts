import pino, { type DestinationStream, type Logger } from 'pino'
import pretty from 'pino-pretty'
import type { Config } from '../config'

export type { Logger }

/**
 * JSON lines with `level` as a label and an ISO `timestamp`, as the access-log contract asks.
 * Credentials never reach a line: the redaction list is a second net behind never logging them at all.
 */
export function createLogger(
  config: Pick<Config, 'logLevel' | 'logPretty'>,
  destination?: DestinationStream,
): Logger {
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    base: undefined,
    messageKey: 'message',
    timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: [
        'authorization',
        'token',
        'password',
        'cookie',
        '*.authorization',
        '*.token',
        '*.password',
        '*.cookie',
        'headers.authorization',
        'headers.cookie',
      ],
      censor: '[redacted]',
    },
    serializers: { err: pino.stdSerializers.err },
  }
  if (destination) return pino(options, destination)
  if (config.logPretty) {
    return pino(
      options,
      pretty({ colorize: true, messageKey: 'message', timestampKey: 'timestamp', sync: true }),
    )
  }
  return pino(options)
}
