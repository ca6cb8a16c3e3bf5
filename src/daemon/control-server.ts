/**
 * The local control socket: a Unix socket, mode 0600 (owner only, so only
 * root or the daemon's user can read counters), speaking one JSON request
 * line and one JSON response line per connection. `overpass status`, `map`
 * and `routes` are its clients.
 */
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'

export type ControlHandler = (request: { cmd: string; [k: string]: unknown }) => unknown

async function answer(handle: ControlHandler, line: string): Promise<{ ok: boolean; result?: unknown; error?: string }> {
  try {
    const req = JSON.parse(line) as { cmd?: unknown }
    if (typeof req.cmd !== 'string') throw new Error('missing "cmd"')
    return { ok: true, result: await handle(req as { cmd: string }) }
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) }
  }
}

export class ControlSocketError extends Error {
  override readonly name = 'ControlSocketError'
  constructor(message: string, readonly socketPath: string) {
    super(message)
  }
}

const MAX_REQUEST_BYTES = 4096

export async function startControlServer(socketPath: string, handle: ControlHandler): Promise<{ close(): void }> {
  fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 })
  await removeStaleSocket(socketPath)
  const server = net.createServer((conn) => {
    let buf = ''
    let answered = false
    conn.setEncoding('utf8')
    conn.on('error', () => {})
    conn.on('data', (chunk: string) => {
      if (answered) return
      buf += chunk
      if (buf.length > MAX_REQUEST_BYTES) {
        answered = true
        conn.end(JSON.stringify({ error: 'request too large' }) + '\n')
        return
      }
      const nl = buf.indexOf('\n')
      if (nl < 0) return
      answered = true
      buf = buf.slice(0, nl)
      // A handler may answer later (reload re-reads files and applies them): a promise is awaited.
      void answer(handle, buf).then((reply) => conn.end(JSON.stringify(reply) + '\n'))
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new ControlSocketError(`cannot listen on control socket ${socketPath}: ${err.message}`, socketPath)))
    // umask-independent: restrict before anyone can connect, then chmod to be sure.
    const oldMask = process.umask(0o177)
    server.listen(socketPath, () => {
      process.umask(oldMask)
      fs.chmodSync(socketPath, 0o600)
      resolve()
    })
  })
  return {
    close: () => {
      server.close()
      try {
        fs.unlinkSync(socketPath)
      } catch {
        // Already gone.
      }
    },
  }
}

/** A socket file left by a crashed daemon is removed; a live daemon is an error. */
async function removeStaleSocket(socketPath: string): Promise<void> {
  if (!fs.existsSync(socketPath)) return
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect(socketPath)
    c.once('connect', () => {
      c.destroy()
      resolve(true)
    })
    c.once('error', () => resolve(false))
  })
  if (alive) throw new ControlSocketError(`another daemon is already running on control socket ${socketPath}; stop it or set relay.control_socket`, socketPath)
  fs.unlinkSync(socketPath)
}

/** Client side: sends one request, returns the result or throws with the daemon's error. */
export function controlRequest(socketPath: string, request: { cmd: string; [k: string]: unknown }, timeoutMs = 3000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socketPath)
    let buf = ''
    const timer = setTimeout(() => {
      c.destroy()
      reject(new ControlSocketError(`no answer from the daemon on ${socketPath} within ${timeoutMs} ms`, socketPath))
    }, timeoutMs)
    c.setEncoding('utf8')
    c.on('connect', () => c.write(JSON.stringify(request) + '\n'))
    c.on('data', (chunk: string) => (buf += chunk))
    c.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      const hint = err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? ' (is `overpass up` running with this config?)' : err.code === 'EACCES' ? ' (run as root or as the daemon\'s user)' : ''
      reject(new ControlSocketError(`cannot reach the daemon on ${socketPath}: ${err.message}${hint}`, socketPath))
    })
    c.on('end', () => {
      clearTimeout(timer)
      try {
        const reply = JSON.parse(buf) as { ok: boolean; result?: unknown; error?: string }
        if (reply.ok) resolve(reply.result)
        else reject(new ControlSocketError(`daemon refused: ${reply.error}`, socketPath))
      } catch {
        reject(new ControlSocketError(`malformed answer from the daemon on ${socketPath}`, socketPath))
      }
    })
  })
}
