import type { Subprocess } from 'bun'
import type { Logger } from './lib/logger'

/** Set by the supervisor on the processes it starts: the worker's number, from 1. */
export const WORKER_ENV = 'CLUSTER_WORKER'

/** The worker's number when this process was started by a supervisor. */
export function clusterWorker(env: Record<string, string | undefined> = process.env): number | undefined {
  const raw = env[WORKER_ENV]
  const id = raw === undefined ? Number.NaN : Number(raw)
  return Number.isSafeInteger(id) && id > 0 ? id : undefined
}

interface ListeningMessage {
  type: 'listening'
  port: number
}

/** Tells the supervisor the worker serves, and on which port (the first worker picks it when PORT=0). */
export function reportListening(port: number): void {
  process.send?.({ type: 'listening', port } satisfies ListeningMessage)
}

/** Runs `stop` when the supervisor is gone (even killed with SIGKILL), so that no worker outlives it. */
export function onSupervisorGone(stop: () => void): void {
  process.on('disconnect', stop)
}

export interface SupervisorOptions {
  workers: number
  /** 0 lets the first worker pick a free port, which the others then share. */
  port: number
  logger: Logger
  /** How long workers get to drain after the signal before they are killed. */
  shutdownTimeoutMs: number
  /** The worker's command line; by default this very program. */
  command?: string[]
  env?: Record<string, string | undefined>
  /** First restart delay, doubled for each recent crash of the same worker up to `maxRestartDelayMs`. */
  restartDelayMs?: number
  maxRestartDelayMs?: number
  /** More than `maxRestarts` crashes of one worker within `crashWindowMs` stops everything (exit 1). */
  maxRestarts?: number
  crashWindowMs?: number
  /** How long a worker may take to listen. */
  startTimeoutMs?: number
}

export interface Supervisor {
  /** Forwards the signal to every worker and resolves `exited` once they are all gone. */
  stop(signal: NodeJS.Signals): void
  /** The supervisor's exit code: 0 after a clean stop, 1 after a crash loop or a worker that never started. */
  readonly exited: Promise<number>
}

interface Slot {
  id: number
  process: Subprocess | undefined
  crashes: number[]
  restartTimer: Timer | undefined
}

/**
 * Runs `workers` copies of the server on one port (each listens with SO_REUSEPORT and the kernel spreads new
 * connections among them), restarts a worker that dies with a growing delay, and gives up when one keeps
 * crashing, so that the platform sees a failed instance rather than a process that answers nothing.
 */
export function startSupervisor(options: SupervisorOptions): Supervisor {
  const {
    workers,
    logger,
    shutdownTimeoutMs,
    // Workers take the runtime's parser limits of the supervisor (see plugins/request-limits.ts).
    command = [
      process.execPath,
      ...process.execArgv.filter((flag) => flag.startsWith('--max-http')),
      Bun.main,
    ],
    restartDelayMs = 250,
    maxRestartDelayMs = 10_000,
    maxRestarts = 5,
    crashWindowMs = 60_000,
    startTimeoutMs = 60_000,
  } = options
  const env = options.env ?? process.env
  const slots: Slot[] = Array.from({ length: workers }, (_, i) => ({
    id: i + 1,
    process: undefined,
    crashes: [],
    restartTimer: undefined,
  }))
  let port = options.port
  let stopping = false
  let exitCode = 0
  let resolveExited: (code: number) => void = () => {}
  const exited = new Promise<number>((resolve) => {
    resolveExited = resolve
  })
  let firstListening: (port: number) => void = () => {}

  const alive = () => slots.filter((slot) => slot.process !== undefined)
  const settleIfDone = () => {
    if (stopping && alive().length === 0 && slots.every((slot) => slot.restartTimer === undefined)) {
      resolveExited(exitCode)
    }
  }

  function spawn(slot: Slot): void {
    const child = Bun.spawn(command, {
      env: { ...env, PORT: String(port), [WORKER_ENV]: String(slot.id) },
      stdin: 'ignore',
      stdout: 'inherit',
      stderr: 'inherit',
      ipc(message: unknown) {
        const listening = message as Partial<ListeningMessage> | null
        if (listening?.type === 'listening' && typeof listening.port === 'number')
          firstListening(listening.port)
      },
      onExit(exitedChild, code) {
        if (slot.process === exitedChild) slot.process = undefined
        onWorkerExit(slot, exitedChild.pid, code, exitedChild.signalCode)
      },
    })
    slot.process = child
  }

  function onWorkerExit(
    slot: Slot,
    pid: number,
    code: number | null,
    signal: number | NodeJS.Signals | null,
  ) {
    if (stopping) {
      if (code !== 0) exitCode = 1
      logger.info({ worker: slot.id, pid, exitCode: code, signal }, 'worker stopped')
      settleIfDone()
      return
    }
    const now = Date.now()
    slot.crashes = slot.crashes.filter((at) => now - at < crashWindowMs)
    slot.crashes.push(now)
    if (slot.crashes.length > maxRestarts) {
      logger.fatal(
        {
          worker: slot.id,
          pid,
          exitCode: code,
          signal,
          crashes: slot.crashes.length,
          windowMs: crashWindowMs,
        },
        'worker keeps crashing; stopping every worker',
      )
      exitCode = 1
      stop('SIGTERM')
      return
    }
    const delayMs = Math.min(restartDelayMs * 2 ** (slot.crashes.length - 1), maxRestartDelayMs)
    logger.error(
      { worker: slot.id, pid, exitCode: code, signal, restartInMs: delayMs },
      'worker exited; restarting it',
    )
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined
      if (!stopping) spawn(slot)
      else settleIfDone()
    }, delayMs)
  }

  function stop(signal: NodeJS.Signals): void {
    if (stopping) return
    stopping = true
    logger.info({ signal, workers: alive().length }, 'stopping workers')
    for (const slot of slots) {
      clearTimeout(slot.restartTimer)
      slot.restartTimer = undefined
      slot.process?.kill(signal)
    }
    const force = setTimeout(() => {
      const left = alive()
      if (left.length === 0) return
      logger.error({ workers: left.map((slot) => slot.id) }, 'workers did not stop in time; killing them')
      exitCode = 1
      for (const slot of left) slot.process?.kill('SIGKILL')
    }, shutdownTimeoutMs + 2_000)
    force.unref()
    settleIfDone()
  }

  async function start(): Promise<void> {
    const [first, ...rest] = slots
    if (!first) return
    if (port === 0) {
      // The port is known once the first worker listens; the others join it there.
      const listening = new Promise<number>((resolve) => {
        firstListening = resolve
      })
      spawn(first)
      let timer: Timer | undefined
      const picked = await Promise.race([
        listening,
        exited.then(() => undefined),
        new Promise<undefined>((resolve) => {
          timer = setTimeout(resolve, startTimeoutMs)
        }),
      ])
      clearTimeout(timer)
      if (picked === undefined) {
        if (!stopping) {
          logger.fatal(
            { worker: first.id, timeoutMs: startTimeoutMs },
            'the first worker did not start listening',
          )
          exitCode = 1
          stop('SIGTERM')
        }
        return
      }
      port = picked
      for (const slot of rest) spawn(slot)
    } else {
      for (const slot of slots) spawn(slot)
    }
    logger.info({ workers, port }, 'workers started')
  }

  void start()
  return { stop, exited }
}
