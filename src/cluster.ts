import { readFile } from 'node:fs/promises'
import type { Subprocess } from 'bun'
import type { Logger } from './lib/logger'
import { mergeExpositions } from './lib/metrics'

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

/**
 * The metrics messages. A worker scraped on `/metrics` asks its supervisor (`metrics-request`), which asks every
 * listening worker for its own exposition (`metrics-collect`, answered by `metrics-report`), labels each with
 * `worker="<n>"`, merges them and answers (`metrics-answer`).
 */
type MetricsMessage =
  | { type: 'metrics-request'; id: number }
  | { type: 'metrics-answer'; id: number; text: string }
  | { type: 'metrics-collect'; id: number }
  | { type: 'metrics-report'; id: number; text?: string; error?: string }

const isMetricsMessage = (message: unknown): message is MetricsMessage => {
  const candidate = message as { type?: unknown; id?: unknown } | null
  return (
    typeof candidate?.type === 'string' &&
    candidate.type.startsWith('metrics-') &&
    typeof candidate.id === 'number'
  )
}

/** How long the supervisor waits for each worker's metrics; a worker that takes longer is left out. */
export const WORKER_METRICS_TIMEOUT_MS = 2_000

/** The label that sets the series of one worker apart from the others of its instance. */
export const workerLabel = (worker: number) => `worker="${worker}"`

/**
 * In a worker: answers the supervisor's requests for this process's metrics (`render`), and returns what
 * `/metrics` should answer, the metrics of every worker of the instance, each series labelled with its worker.
 * Without an answer from the supervisor within `timeoutMs` (it is gone or stuck), this worker's alone.
 */
export function clusterMetrics(
  worker: number,
  render: () => Promise<string>,
  timeoutMs = WORKER_METRICS_TIMEOUT_MS + 2_000,
): () => Promise<string> {
  const pending = new Map<number, (text: string | undefined) => void>()
  let nextId = 0
  process.on('message', (message: unknown) => {
    if (!isMetricsMessage(message)) return
    if (message.type === 'metrics-collect') {
      const { id } = message
      render().then(
        (text) => process.send?.({ type: 'metrics-report', id, text } satisfies MetricsMessage),
        (error: unknown) =>
          process.send?.({ type: 'metrics-report', id, error: String(error) } satisfies MetricsMessage),
      )
    } else if (message.type === 'metrics-answer') {
      pending.get(message.id)?.(message.text)
    }
  })
  const alone = async () => mergeExpositions([{ label: workerLabel(worker), text: await render() }])
  return async () => {
    const id = ++nextId
    const answer = new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs)
      pending.set(id, (text) => {
        clearTimeout(timer)
        resolve(text)
      })
    })
    try {
      if (!process.send?.({ type: 'metrics-request', id } satisfies MetricsMessage)) return await alone()
      return (await answer) ?? (await alone())
    } finally {
      pending.delete(id)
    }
  }
}

/** Runs `stop` when the supervisor is gone (even killed with SIGKILL), so that no worker outlives it. */
export function onSupervisorGone(stop: () => void): void {
  process.on('disconnect', stop)
}

/**
 * A process's resident memory in bytes (VmRSS of /proc/<pid>/status, Linux); undefined where it cannot be read:
 * the process is gone (or a zombie), or the system has no /proc.
 */
export async function readRssBytes(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    const kib = /^VmRSS:\s*(\d+)\s*kB\s*$/m.exec(status)?.[1]
    return kib === undefined ? undefined : Number(kib) * 1024
  } catch {
    return undefined
  }
}

/**
 * Linux (5.14+): when 1, connections waiting in the queue of a closing SO_REUSEPORT listener move to another
 * listener of the port instead of being reset; 0 by default.
 */
const TCP_MIGRATE_REQ = '/proc/sys/net/ipv4/tcp_migrate_req'

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
  /**
   * A worker whose resident memory exceeds this is replaced: its successor starts on the same port, and once it
   * listens the old worker gets SIGTERM and drains like in a graceful shutdown. Undefined: no limit.
   */
  maxWorkerMemoryMb?: number | undefined
  /** How often the workers' resident memory is sampled (with a limit). */
  memoryCheckIntervalMs?: number
  /**
   * Least time between two memory replacements of one worker; a new worker is not replaced before it has run
   * this long, so that a limit below a fresh worker's footprint cannot replace workers in a loop.
   */
  memoryReplaceIntervalMs?: number
  /** How long a scrape waits for each worker's metrics; a worker that does not answer in time is left out. */
  metricsTimeoutMs?: number
}

export interface Supervisor {
  /** Forwards the signal to every worker and resolves `exited` once they are all gone. */
  stop(signal: NodeJS.Signals): void
  /** The supervisor's exit code: 0 after a clean stop, 1 after a crash loop or a worker that never started. */
  readonly exited: Promise<number>
}

interface Slot {
  id: number
  /** The worker serving for this slot. */
  process: Subprocess | undefined
  crashes: number[]
  restartTimer: Timer | undefined
  /** The worker started to take over from `process` (memory limit), until it listens. */
  successor: Subprocess | undefined
  /** Until then the slot's worker is not replaced for its memory. */
  replaceableAt: number
}

/**
 * Runs `workers` copies of the server on one port (each listens with SO_REUSEPORT and the kernel spreads new
 * connections among them), restarts a worker that dies with a growing delay, and gives up when one keeps
 * crashing, so that the platform sees a failed instance rather than a process that answers nothing.
 *
 * With `maxWorkerMemoryMb`, a worker found above it is replaced without losing a request: its successor is
 * started first and, once it listens on the shared port, the old worker gets SIGTERM, stops accepting and
 * finishes what it accepted. That exit is not a crash. One worker is replaced at a time (until the old one has
 * exited), and each at most once per `memoryReplaceIntervalMs`.
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
    maxWorkerMemoryMb,
    memoryCheckIntervalMs = 5_000,
    memoryReplaceIntervalMs = 60_000,
    metricsTimeoutMs = WORKER_METRICS_TIMEOUT_MS,
  } = options
  const env = options.env ?? process.env
  const slots: Slot[] = Array.from({ length: workers }, (_, i) => ({
    id: i + 1,
    process: undefined,
    crashes: [],
    restartTimer: undefined,
    successor: undefined,
    replaceableAt: 0,
  }))
  /** Replaced workers finishing their in-flight requests. */
  const draining = new Map<Subprocess, Slot>()
  /** The slot being replaced for its memory, from its successor's start until the old worker has exited. */
  let replacing: Slot | undefined
  let memoryTimer: Timer | undefined
  let port = options.port
  let stopping = false
  let exitCode = 0
  let resolveExited: (code: number) => void = () => {}
  const exited = new Promise<number>((resolve) => {
    resolveExited = resolve
  })
  let firstListening: (port: number) => void = () => {}
  /** Workers that listen, and so answer requests for their metrics. */
  const listening = new WeakSet<Subprocess>()
  /** Requests for one worker's metrics, by message id. */
  const collecting = new Map<number, (report: { text?: string; error?: string }) => void>()
  let nextCollectId = 0
  /** Per slot: scrapes that lacked its worker's metrics (no answer in time, or an error). */
  const scrapeFailures = new Map<number, number>(slots.map((slot) => [slot.id, 0]))

  const running = (): { slot: Slot; child: Subprocess }[] => [
    ...slots.flatMap((slot) =>
      [slot.process, slot.successor].flatMap((child) => (child ? [{ slot, child }] : [])),
    ),
    ...[...draining].map(([child, slot]) => ({ slot, child })),
  ]
  const settleIfDone = () => {
    if (stopping && running().length === 0 && slots.every((slot) => slot.restartTimer === undefined)) {
      resolveExited(exitCode)
    }
  }

  function spawn(slot: Slot, onListening?: () => void): Subprocess {
    return Bun.spawn(command, {
      env: { ...env, PORT: String(port), [WORKER_ENV]: String(slot.id) },
      stdin: 'ignore',
      stdout: 'inherit',
      stderr: 'inherit',
      ipc(message: unknown, child: Subprocess) {
        if (isMetricsMessage(message)) {
          onMetricsMessage(child, message)
          return
        }
        const listens = message as Partial<ListeningMessage> | null
        if (listens?.type === 'listening' && typeof listens.port === 'number') {
          listening.add(child)
          firstListening(listens.port)
          onListening?.()
        }
      },
      onExit(child, code) {
        const signal = child.signalCode
        if (draining.delete(child)) onDrained(slot, child.pid, code, signal)
        else if (slot.successor === child) {
          slot.successor = undefined
          onSuccessorExit(slot, child.pid, code, signal)
        } else {
          if (slot.process === child) slot.process = undefined
          onWorkerExit(slot, child.pid, code, signal)
        }
      },
    })
  }

  function onMetricsMessage(child: Subprocess, message: MetricsMessage): void {
    if (message.type === 'metrics-report') {
      collecting.get(message.id)?.(message)
    } else if (message.type === 'metrics-request') {
      const { id } = message
      void instanceMetrics().then((text) => {
        try {
          child.send({ type: 'metrics-answer', id, text } satisfies MetricsMessage)
        } catch {
          // The worker exited meanwhile.
        }
      })
    }
  }

  /** One worker's own metrics, or undefined when it fails or does not answer within `metricsTimeoutMs`. */
  function collect(slot: Slot, child: Subprocess): Promise<string | undefined> {
    const id = ++nextCollectId
    return new Promise<string | undefined>((resolve) => {
      const failed = (reason: string, error?: string) => {
        collecting.delete(id)
        clearTimeout(timer)
        scrapeFailures.set(slot.id, (scrapeFailures.get(slot.id) ?? 0) + 1)
        logger.warn(
          { worker: slot.id, pid: child.pid, reason, ...(error ? { error } : {}) },
          'worker metrics missing from the scrape',
        )
        resolve(undefined)
      }
      const timer = setTimeout(() => failed(`no answer within ${metricsTimeoutMs} ms`), metricsTimeoutMs)
      collecting.set(id, (report) => {
        if (report.text === undefined) return failed('error', report.error)
        collecting.delete(id)
        clearTimeout(timer)
        resolve(report.text)
      })
      try {
        child.send({ type: 'metrics-collect', id } satisfies MetricsMessage)
      } catch (error) {
        failed('exited', String(error))
      }
    })
  }

  /**
   * The metrics of the instance: those of the worker serving each slot (a replaced worker still draining is left
   * out, so that no two processes report one worker's series), each labelled with its worker, and the
   * supervisor's own.
   */
  async function instanceMetrics(): Promise<string> {
    const serving = slots.flatMap((slot) =>
      slot.process && listening.has(slot.process) ? [{ slot, child: slot.process }] : [],
    )
    const texts = await Promise.all(serving.map(({ slot, child }) => collect(slot, child)))
    const parts: { label?: string; text: string }[] = serving.flatMap(({ slot }, i) => {
      const text = texts[i]
      return text === undefined ? [] : [{ label: workerLabel(slot.id), text }]
    })
    const failures = [...scrapeFailures].map(
      ([id, count]) => `cluster_scrape_failures_total{${workerLabel(id)}} ${count}`,
    )
    parts.push({
      text: [
        '# HELP cluster_scrape_failures_total Scrapes of /metrics that lack the series of a worker: it did not answer in time, or failed',
        '# TYPE cluster_scrape_failures_total counter',
        ...failures,
      ].join('\n'),
    })
    return mergeExpositions(parts)
  }

  function startWorker(slot: Slot): void {
    slot.process = spawn(slot)
    slot.replaceableAt = Date.now() + memoryReplaceIntervalMs
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
    if (slot.successor) {
      // Its replacement is already starting and takes over once it listens.
      logger.error(
        { worker: slot.id, pid, exitCode: code, signal, successor: slot.successor.pid },
        'worker exited while its replacement was starting',
      )
      return
    }
    const delayMs = Math.min(restartDelayMs * 2 ** (slot.crashes.length - 1), maxRestartDelayMs)
    logger.error(
      { worker: slot.id, pid, exitCode: code, signal, restartInMs: delayMs },
      'worker exited; restarting it',
    )
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined
      if (!stopping) startWorker(slot)
      else settleIfDone()
    }, delayMs)
  }

  /** A replaced worker is gone: it drained (or was killed after the shutdown timeout). Never a crash. */
  function onDrained(slot: Slot, pid: number, code: number | null, signal: number | NodeJS.Signals | null) {
    if (replacing === slot) replacing = undefined
    if (stopping) {
      if (code !== 0) exitCode = 1
      logger.info({ worker: slot.id, pid, exitCode: code, signal }, 'worker stopped')
      settleIfDone()
      return
    }
    if (code === 0) {
      logger.info({ worker: slot.id, pid }, 'replaced worker drained and exited')
    } else {
      logger.warn({ worker: slot.id, pid, exitCode: code, signal }, 'replaced worker exited uncleanly')
    }
  }

  /** A replacement exited before it took over. */
  function onSuccessorExit(
    slot: Slot,
    pid: number,
    code: number | null,
    signal: number | NodeJS.Signals | null,
  ) {
    if (replacing === slot) replacing = undefined
    if (stopping) {
      logger.info({ worker: slot.id, pid, exitCode: code, signal }, 'replacement worker stopped')
      settleIfDone()
      return
    }
    if (slot.process === undefined) {
      // The worker it was to replace is gone too: restart the slot like after any crash.
      onWorkerExit(slot, pid, code, signal)
      return
    }
    logger.error(
      { worker: slot.id, pid, exitCode: code, signal, keeping: slot.process.pid },
      'replacement worker exited before listening; keeping the current one',
    )
  }

  /** Starts the slot's successor; once it listens, the old worker drains and exits. */
  function replace(slot: Slot, old: Subprocess, rssBytes: number, limitBytes: number): void {
    replacing = slot
    slot.replaceableAt = Date.now() + memoryReplaceIntervalMs
    logger.warn(
      {
        worker: slot.id,
        pid: old.pid,
        rssMb: Math.round((rssBytes / 1024 / 1024) * 10) / 10,
        limitMb: limitBytes / 1024 / 1024,
      },
      'worker above MAX_WORKER_MEMORY_MB: starting its replacement, then draining it',
    )
    let startTimer: Timer | undefined
    const successor: Subprocess = spawn(slot, () => {
      clearTimeout(startTimer)
      if (slot.successor !== successor || stopping) return
      handOver(slot, successor)
    })
    slot.successor = successor
    startTimer = setTimeout(() => {
      if (slot.successor !== successor) return
      logger.error(
        { worker: slot.id, pid: successor.pid, timeoutMs: startTimeoutMs },
        'replacement worker did not start listening in time',
      )
      successor.kill('SIGKILL')
    }, startTimeoutMs)
    startTimer.unref()
  }

  function handOver(slot: Slot, successor: Subprocess): void {
    const old = slot.process
    slot.successor = undefined
    slot.process = successor
    slot.replaceableAt = Date.now() + memoryReplaceIntervalMs
    if (old === undefined) {
      replacing = undefined
      logger.info({ worker: slot.id, pid: successor.pid }, 'replacement worker listening')
      return
    }
    draining.set(old, slot)
    logger.info(
      { worker: slot.id, pid: successor.pid, draining: old.pid },
      'replacement worker listening; draining the old one',
    )
    old.kill('SIGTERM')
    const force = setTimeout(() => {
      if (!draining.has(old)) return
      logger.error({ worker: slot.id, pid: old.pid }, 'replaced worker did not drain in time; killing it')
      old.kill('SIGKILL')
    }, shutdownTimeoutMs + 2_000)
    force.unref()
  }

  const checkMemory = async (limitBytes: number): Promise<void> => {
    let worst: { slot: Slot; child: Subprocess; rss: number } | undefined
    for (const slot of slots) {
      const child = slot.process
      if (!child || slot.successor || slot.restartTimer || Date.now() < slot.replaceableAt) continue
      const rss = await readRssBytes(child.pid)
      if (rss !== undefined && rss > limitBytes && rss > (worst?.rss ?? 0)) worst = { slot, child, rss }
    }
    // Sampling awaited: the worker may have exited, or the supervisor been stopped, meanwhile.
    if (worst && !stopping && !replacing && worst.slot.process === worst.child && !worst.slot.successor) {
      replace(worst.slot, worst.child, worst.rss, limitBytes)
    }
  }

  async function watchMemory(): Promise<void> {
    if (maxWorkerMemoryMb === undefined || stopping) return
    if ((await readRssBytes(process.pid)) === undefined) {
      logger.warn(
        { maxWorkerMemoryMb },
        'MAX_WORKER_MEMORY_MB ignored: resident memory cannot be read on this system (no /proc)',
      )
      return
    }
    if ((await readFile(TCP_MIGRATE_REQ, 'utf8').catch(() => '')).trim() === '0') {
      logger.warn(
        { sysctl: 'net.ipv4.tcp_migrate_req', value: 0 },
        "connections still queued on a replaced worker's socket when it closes are reset by the kernel; " +
          'set net.ipv4.tcp_migrate_req=1 to have them handed to the other workers',
      )
    }
    const limitBytes = maxWorkerMemoryMb * 1024 * 1024
    let checking = false
    memoryTimer = setInterval(() => {
      if (checking || stopping || replacing) return
      checking = true
      void checkMemory(limitBytes)
        .catch((error: unknown) => logger.error({ err: error }, 'worker memory check failed'))
        .finally(() => {
          checking = false
        })
    }, memoryCheckIntervalMs)
    memoryTimer.unref()
  }

  function stop(signal: NodeJS.Signals): void {
    if (stopping) return
    stopping = true
    clearInterval(memoryTimer)
    logger.info({ signal, workers: running().length }, 'stopping workers')
    for (const slot of slots) {
      clearTimeout(slot.restartTimer)
      slot.restartTimer = undefined
    }
    // Draining workers had theirs already; a second signal changes nothing for them.
    for (const { child } of running()) child.kill(signal)
    const force = setTimeout(() => {
      const left = running()
      if (left.length === 0) return
      logger.error(
        { workers: left.map(({ slot }) => slot.id), pids: left.map(({ child }) => child.pid) },
        'workers did not stop in time; killing them',
      )
      exitCode = 1
      for (const { child } of left) child.kill('SIGKILL')
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
      startWorker(first)
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
      for (const slot of rest) startWorker(slot)
    } else {
      for (const slot of slots) startWorker(slot)
    }
    logger.info({ workers, port, ...(maxWorkerMemoryMb ? { maxWorkerMemoryMb } : {}) }, 'workers started')
    await watchMemory()
  }

  void start()
  return { stop, exited }
}
