/**
 * The client kinds of the bad-input matrix (issue 10 item 2/6), each over a real socket to
 * 127.0.0.1: HTTP/1.1 (ALPN http/1.1), plain HTTP/2 (no extension settings: Node's native path),
 * our extension client, TLS 1.2, random bytes instead of a ClientHello, and clients that go away
 * mid-handshake, mid-exchange (asked for a certificate, never answers, closes) and mid-body.
 * Every helper resolves with what the server answered, as a short string for the matrix, and
 * never hangs (each has its own timer).
 */
import http2 from 'node:http2'
import https from 'node:https'
import net from 'node:net'
import tls from 'node:tls'
import { randomBytes } from 'node:crypto'
import { connect } from '../../../lib/client.js'
import type { ClientExtensionOptions } from '../../../lib/client.js'
import type { TestPki } from '../../../lib/pki/test-pki.js'

/** A response: status, content-type and body. */
export interface Answer {
  readonly status: number
  readonly type: string
  readonly body: string
}

const TIMEOUT_MS = 8000

function timer(what: string, reject: (e: Error) => void, ms = TIMEOUT_MS): NodeJS.Timeout {
  return setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)
}

/** GET (or POST with `body`) over HTTP/1.1 on TLS (ALPN http/1.1 only). */
export function http1Request(port: number, ca: string, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const t = timer(`HTTP/1.1 ${path}`, reject)
    const req = https.request(
      { host: '127.0.0.1', port, path, method, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'], agent: false } as https.RequestOptions,
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (body += c))
        res.on('end', () => {
          clearTimeout(t)
          resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body })
        })
      },
    )
    req.on('error', (e) => {
      clearTimeout(t)
      reject(e)
    })
    req.end()
  })
}

/** One request on an HTTP/2 session. */
export function h2Request(session: http2.ClientHttp2Session, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const t = timer(`HTTP/2 ${path}`, reject)
    const stream = session.request({ ':path': path, ':method': method })
    let status = 0
    let type = ''
    let body = ''
    stream.on('response', (h) => {
      status = Number(h[':status'])
      type = String(h['content-type'] ?? '')
    })
    stream.setEncoding('utf8')
    stream.on('data', (c: string) => (body += c))
    stream.on('end', () => {
      clearTimeout(t)
      // A stream that ends with no response at all was cut off (the session went away).
      if (status === 0) reject(new Error(`HTTP/2 ${path}: closed without a response`))
      else resolve({ status, type, body })
    })
    stream.on('close', () => {
      if (status !== 0) return
      clearTimeout(t)
      reject(new Error(`HTTP/2 ${path}: closed without a response`))
    })
    stream.on('error', (e) => {
      clearTimeout(t)
      reject(e)
    })
    stream.end()
  })
}

/** A plain `node:http2` client: no extension settings, so the server keeps it on the native path. */
export function plainH2(port: number, ca: string, options: http2.SecureClientSessionOptions = {}): http2.ClientHttp2Session {
  const s = http2.connect(`https://127.0.0.1:${port}`, { ca, servername: 'localhost', ...options })
  s.on('error', () => {})
  return s
}

/**
 * Our extension client holding the test PKI's device and user credentials; `ca` (the server's
 * anchor) defaults to that PKI's.
 */
export function extensionClient(port: number, pki: TestPki, ext: ClientExtensionOptions = {}, ca: string = pki.caPem): http2.ClientHttp2Session {
  const s = connect(`https://127.0.0.1:${port}`, {
    ca,
    servername: 'localhost',
    secondaryCerts: {
      credentials: [
        { label: 'device', cert: pki.device.chainPem, key: pki.device.keyPem },
        { label: 'user', cert: pki.user.chainPem, key: pki.user.keyPem },
      ],
      ...ext,
    },
  })
  s.on('error', () => {})
  return s
}

/**
 * A TLS 1.2 client offering h2 (and http/1.1). Resolves 'refused: <code>' when the handshake
 * fails, else the answer to GET `path` over whatever was negotiated.
 */
export function tls12(port: number, ca: string, path: string): Promise<string> {
  return new Promise((resolve) => {
    const s = http2.connect(`https://127.0.0.1:${port}`, { ca, servername: 'localhost', maxVersion: 'TLSv1.2', minVersion: 'TLSv1.2' })
    let done = false
    const finish = (r: string): void => {
      if (done) return
      done = true
      clearTimeout(t)
      s.destroy()
      resolve(r)
    }
    const t = setTimeout(() => finish('no answer'), TIMEOUT_MS)
    s.on('error', (e: NodeJS.ErrnoException) => finish(`refused: ${e.code ?? e.message}`))
    s.on('connect', () => {
      h2Request(s, path).then(
        (a) => finish(`${a.status}`),
        (e: NodeJS.ErrnoException) => finish(`error: ${e.code ?? e.message}`),
      )
    })
  })
}

/** How a raw TCP exchange ended. */
function rawExchange(port: number, send: (sock: net.Socket) => void, closeOurselves: boolean): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1')
    let received = 0
    let done = false
    const finish = (r: string): void => {
      if (done) return
      done = true
      clearTimeout(t)
      sock.destroy()
      resolve(r)
    }
    const t = setTimeout(() => finish(`still open after ${TIMEOUT_MS} ms (${received} bytes)`), TIMEOUT_MS)
    sock.on('data', (c: Buffer) => (received += c.length))
    sock.on('error', () => {})
    sock.on('close', () => finish(`closed by server (${received} bytes back)`))
    sock.on('connect', () => {
      send(sock)
      if (closeOurselves) setTimeout(() => finish('closed by client'), 50)
    })
  })
}

/** 512 random bytes instead of a ClientHello; resolves when the server closes the socket. */
export function randomGarbage(port: number): Promise<string> {
  // Start with a byte that is not a TLS handshake record type (0x16), so this is garbage to TLS.
  const bytes = randomBytes(512)
  bytes[0] = 0x47
  return rawExchange(port, (s) => s.write(bytes), false)
}

/** The first 40 bytes of a real ClientHello, then the client closes. */
export async function closeMidHandshake(port: number): Promise<string> {
  const hello = await captureClientHello()
  return rawExchange(port, (s) => s.write(hello.subarray(0, 40)), true)
}

let helloCache: Buffer | undefined

/** A ClientHello as Node's TLS client writes it (captured on a throwaway local listener). */
function captureClientHello(): Promise<Buffer> {
  if (helloCache) return Promise.resolve(helloCache)
  return new Promise((resolve, reject) => {
    const srv = net.createServer((sock) => {
      sock.once('data', (c: Buffer) => {
        helloCache = c
        sock.destroy()
        srv.close()
        resolve(c)
      })
    })
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo
      const c = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ALPNProtocols: ['h2'] })
      c.on('error', () => {})
    })
    srv.on('error', reject)
  })
}

/**
 * An extension client whose selector never answers: it is asked for certificates on `path`, then
 * destroys the connection while the server holds the request. Resolves with how the stream ended.
 */
export function closeMidExchange(port: number, pki: TestPki, path: string): Promise<string> {
  return new Promise((resolve) => {
    let asked = false
    const s = extensionClient(port, pki, {
      select: () => {
        asked = true
        setTimeout(() => s.destroy(), 20)
        return new Promise(() => {})
      },
    })
    const t = setTimeout(() => resolve(asked ? 'asked, close did not finish' : 'never asked'), TIMEOUT_MS)
    h2Request(s, path).then(
      (a) => {
        clearTimeout(t)
        resolve(`answered ${a.status} before close`)
      },
      () => {
        clearTimeout(t)
        resolve(asked ? 'asked, then closed by client' : 'closed before asked')
      },
    )
  })
}

/** POST with content-length 100000, 10 bytes of body, then the client destroys the connection. */
export function closeMidBody(session: http2.ClientHttp2Session, path: string): Promise<string> {
  return new Promise((resolve) => {
    const stream = session.request({ ':path': path, ':method': 'POST', 'content-length': '100000' })
    stream.on('error', () => {})
    stream.write(Buffer.alloc(10, 0x61))
    setTimeout(() => {
      session.destroy()
      resolve('closed by client mid-body')
    }, 50)
  })
}

/** The same over HTTP/1.1. */
export function closeMidBodyHttp1(port: number, ca: string, path: string): Promise<string> {
  return new Promise((resolve) => {
    const req = https.request({
      host: '127.0.0.1', port, path, method: 'POST', ca, servername: 'localhost', ALPNProtocols: ['http/1.1'], agent: false,
      headers: { 'content-length': '100000' },
    } as https.RequestOptions)
    req.on('error', () => {})
    req.write(Buffer.alloc(10, 0x61))
    setTimeout(() => {
      req.destroy()
      resolve('closed by client mid-body')
    }, 50)
  })
}
