import type { Socket } from 'bun'

/**
 * What happens to connections while the proxy is down:
 * - `blackhole`: open connections are closed; new ones are accepted and get no answer (a dropped route, a
 *   dead host behind NAT);
 * - `refuse`: open connections are closed; new ones are accepted and closed at once (a port forwarder with
 *   nothing behind it);
 * - `freeze`: like `blackhole` for new connections, and the open ones stay open but carry nothing either way
 *   (a network partition: no FIN, no RST).
 * What clients send meanwhile on connections still open is delivered on `restore()`, as TCP would retransmit it.
 */
export type Outage = 'blackhole' | 'refuse' | 'freeze'

export interface TcpProxy {
  readonly port: number
  /** Open client connections. */
  readonly connections: number
  /** Client connections accepted since the start. */
  readonly accepted: number
  /** `url` with its host and port replaced by the proxy's. */
  rewrite(url: string): string
  /** Cuts the link: with `blackhole` and `refuse`, every open connection is closed first. */
  cut(outage?: Outage): void
  restore(): void
  stop(): void
}

interface Side {
  socket: Socket<Link> | undefined
  /** Bytes not yet written to `socket` (not connected yet, kernel buffer full, or frozen). */
  pending: Uint8Array[]
}

interface Link {
  client: Side
  upstream: Side
  upstreamStarted: boolean
  closed: boolean
}

function flush(side: Side): void {
  const socket = side.socket
  while (socket && side.pending.length > 0) {
    const chunk = side.pending[0]!
    const written = socket.write(chunk)
    if (written < chunk.byteLength) {
      side.pending[0] = chunk.subarray(Math.max(written, 0))
      return
    }
    side.pending.shift()
  }
}

/** A loopback TCP proxy to `target` that tests can cut and restore to play a database outage. */
export function startTcpProxy(target: { hostname: string; port: number }): TcpProxy {
  const links = new Set<Link>()
  let outage: Outage | undefined
  let accepted = 0

  const send = (link: Link, to: Side, data: Uint8Array) => {
    if (link.closed) return
    to.pending.push(new Uint8Array(data))
    if (outage === undefined) flush(to)
  }
  const close = (link: Link) => {
    if (link.closed) return
    link.closed = true
    links.delete(link)
    link.client.socket?.terminate()
    link.upstream.socket?.terminate()
  }

  const listener = Bun.listen<Link>({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(socket) {
        accepted++
        const link: Link = {
          client: { socket, pending: [] },
          upstream: { socket: undefined, pending: [] },
          upstreamStarted: false,
          closed: false,
        }
        socket.data = link
        if (outage === 'refuse') {
          link.closed = true
          socket.terminate()
          return
        }
        links.add(link)
        if (outage !== undefined) return
        connectUpstream(link)
      },
      data(socket, data) {
        send(socket.data, socket.data.upstream, data)
      },
      drain(socket) {
        if (outage === undefined) flush(socket.data.client)
      },
      close(socket) {
        close(socket.data)
      },
      error(socket) {
        close(socket.data)
      },
    },
  })

  function connectUpstream(link: Link): void {
    if (link.upstreamStarted) return
    link.upstreamStarted = true
    Bun.connect<Link>({
      hostname: target.hostname,
      port: target.port,
      data: link,
      socket: {
        open(socket) {
          link.upstream.socket = socket
          if (link.closed) socket.terminate()
          else if (outage === undefined) flush(link.upstream)
        },
        data(socket, data) {
          send(socket.data, socket.data.client, data)
        },
        drain(socket) {
          if (outage === undefined) flush(socket.data.upstream)
        },
        close(socket) {
          close(socket.data)
        },
        error(socket) {
          close(socket.data)
        },
        connectError() {
          close(link)
        },
      },
    }).catch(() => close(link))
  }

  return {
    port: listener.port,
    get connections() {
      return links.size
    },
    get accepted() {
      return accepted
    },
    rewrite(url) {
      const parsed = new URL(url)
      parsed.hostname = '127.0.0.1'
      parsed.port = String(listener.port)
      return parsed.toString()
    },
    cut(kind = 'blackhole') {
      outage = kind
      if (kind === 'freeze') return
      for (const link of [...links]) close(link)
    },
    restore() {
      outage = undefined
      for (const link of [...links]) {
        connectUpstream(link)
        flush(link.upstream)
        flush(link.client)
      }
    },
    stop() {
      outage = 'refuse'
      for (const link of [...links]) close(link)
      listener.stop(true)
    },
  }
}
