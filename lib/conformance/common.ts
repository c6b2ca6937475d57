/** Pieces both sides' checks use: outcomes, GOAWAY waiting, request lists. */
import type { Codepoints } from '../config.js'
import { H2Error, decodeRequestList } from './raw-peer.js'
import type { GoawayInfo, RawPeer } from './raw-peer.js'

/** What a check returns; the runner adds side, name, section and time. */
export interface Outcome {
  readonly result: 'pass' | 'fail' | 'skipped'
  readonly detail: string
}

export const pass = (detail: string): Outcome => ({ result: 'pass', detail })
export const fail = (detail: string): Outcome => ({ result: 'fail', detail })
export const skip = (detail: string): Outcome => ({ result: 'skipped', detail })

export const PROTOCOL_ERROR: number = H2Error.PROTOCOL_ERROR
export const FRAME_SIZE_ERROR: number = H2Error.FRAME_SIZE_ERROR
export const hexCode = (c: number): string => `0x${c.toString(16)}`

export type Reaction = GoawayInfo | 'closed' | 'none'

/** The peer's GOAWAY, or that it closed without one, or nothing within `ms`. */
export async function reaction(p: RawPeer, ms: number): Promise<Reaction> {
  try {
    return await p.waitForGoaway(ms)
  } catch {
    return p.closed ? 'closed' : 'none'
  }
}

export function describeReaction(g: Reaction): string {
  if (g === 'closed') return 'connection closed without GOAWAY'
  if (g === 'none') return 'no reaction'
  return `GOAWAY ${hexCode(g.code)}${g.debug ? ` (${g.debug.slice(0, 120)})` : ''}`
}

/** PASS on a GOAWAY with `code` (or one of `codes`), FAIL otherwise, naming what was seen. */
export function expectGoaway(g: Reaction, ...codes: number[]): Outcome {
  if (typeof g === 'object' && codes.includes(g.code)) return pass(describeReaction(g))
  return fail(`expected GOAWAY ${codes.map(hexCode).join(' or ')}, got ${describeReaction(g)}`)
}

/** SETTINGS with both extension settings (client limit `n`). */
export const bothSettings = (cp: Codepoints, n: number): [number, number][] => [
  [cp.settingClientCertAuth, n],
  [cp.settingServerCertAuth, 1],
]

/** Requests of an AUTHENTICATOR_REQUESTS payload, or the reason it is malformed. */
export function requestList(payload: Uint8Array): Uint8Array[] | string {
  try {
    return decodeRequestList(payload)
  } catch (e) {
    return (e as Error).message
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref?.())
