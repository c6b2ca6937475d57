import { createHmac, randomBytes } from 'node:crypto'
import type { Exporter } from '../../lib/ea/exporter.js'

/**
 * A stand-in for one TLS connection's exporter: both endpoints of a real connection get equal
 * values for a label, so one function serves both sides. A different `secret` models a different
 * connection.
 */
export function fakeExporter(secret: Uint8Array = randomBytes(32)): Exporter {
  return (label, context, length) => {
    const out = Buffer.alloc(length)
    let block = Buffer.alloc(0)
    for (let i = 0, at = 0; at < length; i++) {
      block = createHmac('sha256', secret).update(block).update(label).update(context).update(Buffer.from([i])).digest()
      block.copy(out, at)
      at += block.length
    }
    return out
  }
}
