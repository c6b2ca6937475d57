/**
 * binding/events: the event maps of the two extension objects. The checks are type-level (this
 * file is type-checked by `npm test`): each `@ts-expect-error` fails the typecheck if the maps
 * went untyped, and the typed reads must compile. The runtime part checks the maps name every
 * event the objects emit.
 */
import { expect } from 'chai'
import { readFileSync } from 'node:fs'
import type { ClientSessionCerts } from '../../lib/binding/attach-client.js'
import type { ServerSessionCerts } from '../../lib/binding/attach-server.js'
import type { ClientSessionEvents, ServerSessionEvents } from '../../lib/binding/events.js'

/** Never called: compiled only. */
export function typeChecks(server: ServerSessionCerts, client: ClientSessionCerts): void {
  client.on('serverCertificate', (ev) => {
    const accepted: boolean = ev.accepted
    // @ts-expect-error a misspelt field of a typed event does not compile
    void ev.acepted
    void accepted
  })
  client.on('answer', (a) => {
    const reason: string | undefined = a.reason
    // @ts-expect-error `label` is string | null, not string
    const label: string = a.label
    void reason
    void label
  })
  server.on('identity', (identity) => {
    const trusted: boolean = identity.trusted
    void trusted
  })
  server.on('untrusted', (ev) => {
    const reason: string = ev.reason
    // @ts-expect-error an untrusted event has no `roles`
    void ev.roles
    void reason
  })
  // @ts-expect-error 'declined' carries the label, a string
  server.on('declined', (label: number) => void label)
}

function emitted(file: string): string[] {
  const text = readFileSync(new URL(`../../lib/binding/${file}`, import.meta.url), 'utf8')
  return [...new Set([...text.matchAll(/\.emit\('([A-Za-z]+)'/g)].map((m) => m[1]!))].sort()
}

describe('binding/events', () => {
  it('names every event the server extension object emits', () => {
    const keys: Record<keyof ServerSessionEvents, true> = { identity: true, untrusted: true, declined: true, violation: true, sendError: true, close: true }
    expect(Object.keys(keys)).to.include.members(emitted('attach-server.ts'))
  })

  it('names every event the client extension object emits', () => {
    const keys: Record<keyof ClientSessionEvents, true> = { request: true, answer: true, declinedInstead: true, serverCertificate: true, violation: true, sendError: true, close: true }
    expect(Object.keys(keys)).to.include.members(emitted('attach-client.ts'))
  })
})
