import type { EventEmitter } from 'node:events'
import type { FrameInterposer } from './interposer.js'
import { publish } from './diagnostics.js'

/** One extension frame as seen by a session (for diagnostics, the demo and tests). */
export interface FrameLogEntry {
  readonly dir: 'in' | 'out'
  readonly type: number
  readonly bytes: number
  readonly at: number
}

/** Records an inbound extension frame and publishes it on `secondary-certs:frame`. */
export function logInbound(log: FrameLogEntry[], role: 'client' | 'server', type: number, streamId: number, bytes: number): void {
  log.push({ dir: 'in', type, bytes, at: Date.now() })
  publish('frame', { role, dir: 'in', type, streamId, bytes })
}

/**
 * Sends an extension frame on stream 0, records and publishes it. A send that fails (frame too
 * large for the peer, connection closed) does not throw: it is published and emitted as
 * `'sendError'` on `owner`.
 */
export function sendLogged(
  owner: EventEmitter,
  interposer: FrameInterposer,
  log: FrameLogEntry[],
  role: 'client' | 'server',
  type: number,
  payload: Uint8Array,
): void {
  log.push({ dir: 'out', type, bytes: payload.length, at: Date.now() })
  publish('frame', { role, dir: 'out', type, streamId: 0, bytes: payload.length })
  try {
    interposer.sendExtensionFrame(type, 0, 0, payload)
  } catch (e) {
    publish('error', { role, error: e })
    owner.emit('sendError', e)
  }
}
