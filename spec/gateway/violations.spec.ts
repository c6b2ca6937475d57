import { expect } from 'chai'
import type http2 from 'node:http2'
import { Ext, H2Error, connectRaw, encodeRequestList, extensionSettings } from '../../lib/conformance/raw-peer.js'
import { createGateway } from '../../lib/gateway/gateway.js'
import type { Gateway, ViolationEntry } from '../../lib/gateway/gateway.js'
import type { TestPki } from '../../lib/pki/test-pki.js'
import { deviceUserClient, fetchH2, gatewayPki, startBackend } from './support/harness.js'
import type { Backend } from './support/harness.js'

describe('gateway: a client that breaks the protocol', function () {
  this.timeout(60000)
  let pki: TestPki
  let backend: Backend
  let gw: Gateway
  let port: number
  let bystander: http2.ClientHttp2Session
  const violations: ViolationEntry[] = []

  before(async () => {
    pki = await gatewayPki()
    backend = await startBackend()
    gw = createGateway({ cert: pki.server.chainPem, key: pki.server.keyPem, ca: pki.caPem, upstream: backend.url, require: ['device', 'user'] })
    gw.on('violation', (v: ViolationEntry) => violations.push(v))
    port = (await gw.listen()).port
    bystander = deviceUserClient(`https://127.0.0.1:${port}`, pki)
    expect((await fetchH2(bystander, '/before')).status).to.equal(200)
  })
  after(async () => {
    bystander.destroy()
    await gw.close({ timeoutMs: 300 })
    await backend.stop()
  })

  it('gets GOAWAY with the error-table code, is logged and counted, and nobody else notices', async () => {
    const raw = await connectRaw({ port, ca: pki.caPem, settings: extensionSettings(2) })
    await raw.waitForSettings()
    // A client may not send AUTHENTICATOR_REQUESTS to a server (digest §3.3).
    raw.sendFrame(Ext.AUTHENTICATOR_REQUESTS, 0, 0, encodeRequestList([new Uint8Array([0x0d, 0, 0, 0])]))
    const g = await raw.waitForGoaway(3000)
    expect(g.code).to.equal(H2Error.PROTOCOL_ERROR)
    expect(await raw.waitForClose(3000)).to.equal(true)
    expect(violations.map((v) => v.violation)).to.deep.equal(['authenticator-requests-at-server'])
    expect(violations[0]).to.include({ http2Code: H2Error.PROTOCOL_ERROR, peer: '127.0.0.1', pid: process.pid })
    expect(await gw.metrics.registry.metrics()).to.match(/h2sc_gateway_violations_total\{code="authenticator-requests-at-server"\} 1/)
    expect((await fetchH2(bystander, '/after')).status).to.equal(200)
  })
})
