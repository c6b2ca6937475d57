import { expect } from 'chai'
import type http2 from 'node:http2'
import { createLoadServer } from '../../interop/load/server.js'
import type { LoadServerCounters } from '../../interop/load/server.js'
import { newGroupStats, runAuthSlot, runControlSlot, runFloodSlot, runSilentSlot, runVanishSlot } from '../../interop/load/groups.js'
import type { GroupStats, LoadTarget } from '../../interop/load/groups.js'
import { testPki } from '../support/pki.js'
import { closeServer, listen, trackSessions } from '../../interop/support/h2.js'

/** Small, fast versions of the load run's fault groups (`npm run load` does the big ones). */
describe('integration: faults leave other connections untouched', function () {
  this.timeout(15000)
  let server: http2.Http2SecureServer
  let sessions: Set<http2.Http2Session>
  let counters: LoadServerCounters
  let target: LoadTarget

  beforeEach(async () => {
    const pki = await testPki('p256')
    const made = createLoadServer({ keyPem: pki.server.keyPem, certPem: pki.server.chainPem, caPem: pki.caPem, requestTimeoutMs: 5000 })
    server = made.server
    counters = made.counters
    sessions = trackSessions(server)
    target = { port: await listen(server), pki }
  })

  afterEach(async () => {
    if (server) await closeServer(server, sessions)
  })

  /** Runs `fault` while one long-lived authenticating connection and plain clients work beside it. */
  async function withBystanders(ms: number, fault: (until: number) => Promise<void>): Promise<{ auth: GroupStats; control: GroupStats }> {
    const auth = newGroupStats()
    const control = newGroupStats()
    const until = Date.now() + ms
    await Promise.all([runAuthSlot(target, auth, until, { cyclesPerConnection: 1_000_000 }), runControlSlot(target, control, until), fault(until)])
    return { auth, control }
  }

  function expectUntouched(b: { auth: GroupStats; control: GroupStats }): void {
    // One connection for the whole run: it was never closed under the bystander.
    expect(b.auth.connections).to.equal(1)
    for (const g of [b.auth, b.control]) {
      expect(g.sent).to.be.greaterThan(0)
      expect({ lost: g.lost, refused: g.refused, unexpected: g.unexpected, reasons: g.reasons }).to.deep.equal({ lost: 0, refused: 0, unexpected: 0, reasons: {} })
      expect(g.answered).to.equal(g.sent)
    }
    expect(b.auth.identities).to.be.greaterThan(0)
  }

  async function settle(pred: () => boolean, ms = 3000): Promise<void> {
    const end = Date.now() + ms
    while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 25))
  }

  it('a peer that vanishes after AUTHENTICATOR_REQUESTS costs only its own session', async () => {
    const vanish = newGroupStats()
    const b = await withBystanders(1200, (until) => runVanishSlot(target, vanish, until, 10))
    expect(vanish.expectedFail, JSON.stringify(vanish.reasons)).to.equal(0)
    expect(vanish.expectedOk).to.be.at.least(2)
    expectUntouched(b)
    // The server gave up each abandoned identity request and closed each vanished session.
    await settle(() => counters.abandoned === vanish.expectedOk && counters.openSessions === 0)
    expect(counters.abandoned).to.equal(vanish.expectedOk)
    expect(counters.openSessions).to.equal(0)
  })

  it('a peer that never answers gets 504 from the server timeout and its connection stays usable', async () => {
    const silent = newGroupStats()
    const b = await withBystanders(1200, (until) => runSilentSlot(target, silent, until, 300))
    expect(silent.expectedFail, JSON.stringify(silent.reasons)).to.equal(0)
    expect(silent.expectedOk).to.be.at.least(1)
    expect(silent.answered).to.equal(silent.sent)
    expect(counters.timeouts).to.equal(silent.sent)
    expectUntouched(b)
  })

  it('a CLIENT_CERTIFICATE flood ends only that connection, with GOAWAY(PROTOCOL_ERROR)', async () => {
    const flood = newGroupStats()
    const b = await withBystanders(1200, (until) => runFloodSlot(target, flood, until, 500, 20))
    expect(flood.expectedFail, JSON.stringify(flood.reasons)).to.equal(0)
    expect(flood.expectedOk).to.be.at.least(2)
    // Both variants ran: unsolicited, and after one valid answer.
    expect(Object.keys(flood.reasons)).to.include.members(['unsolicited flood', 'flood after a valid answer'])
    expect(counters.violations).to.equal(flood.expectedOk)
    expectUntouched(b)
  })
})
