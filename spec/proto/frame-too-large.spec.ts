import { expect } from 'chai'
import { ServerState } from '../../lib/proto/server-state.js'
import type { ServerAction } from '../../lib/proto/server-state.js'
import { ClientState } from '../../lib/proto/client-state.js'
import type { ClientAction } from '../../lib/proto/client-state.js'
import { ExportedAuthenticators } from '../../lib/ea/authenticators.js'
import { DEFAULT_CODEPOINTS, resolveCodepoints } from '../../lib/config.js'
import type { Codepoints } from '../../lib/config.js'
import { fakeExporter } from '../../interop/support/fake-exporter.js'

const CP = DEFAULT_CODEPOINTS
const MAX = 1000

function server(cp: Codepoints = CP, negotiated = true): ServerState {
  const s = new ServerState({
    ea: new ExportedAuthenticators({ role: 'server', exporter: fakeExporter(), hash: 'sha384' }),
    codepoints: cp,
    clientCertAuth: true,
    serverCertAuth: true,
    maxAuthenticatorBytes: MAX,
  })
  if (negotiated) s.onPeerSettings([[cp.settingClientCertAuth, 2], [cp.settingServerCertAuth, 1]])
  return s
}

function client(negotiated = true): ClientState {
  const c = new ClientState({
    ea: new ExportedAuthenticators({ role: 'client', exporter: fakeExporter(), hash: 'sha384' }),
    codepoints: CP,
    clientCertAuth: 2,
    serverCertAuth: true,
    maxAuthenticatorBytes: MAX,
  })
  if (negotiated) c.onPeerSettings([[CP.settingClientCertAuth, 1], [CP.settingServerCertAuth, 1]])
  return c
}

function violation(actions: readonly (ServerAction | ClientAction)[]): { name: string; code: number } | undefined {
  const g = actions.find((a) => a.kind === 'goaway')
  return g && g.kind === 'goaway' ? { name: g.error.violation, code: g.error.http2Code } : undefined
}

describe('proto: oversized extension frames as their own event (issue 9 item 3)', () => {
  it('server: an oversized CLIENT_CERTIFICATE with a request outstanding is FRAME_SIZE_ERROR', () => {
    const s = server()
    s.requestAuthenticators([{ id: 1, bytes: (s as unknown as { ea: ExportedAuthenticators }).ea.request() }])
    expect(violation(s.onFrameTooLarge({ type: CP.frameClientCertificate, streamId: 0, length: MAX + 1 }))).to.deep.equal({
      name: 'extension-frame-too-large',
      code: 0x6,
    })
    expect(s.isClosed).to.equal(true)
  })

  it('server: an oversized CLIENT_CERTIFICATE before negotiation is frame-before-negotiation', () => {
    const s = server(CP, false)
    expect(violation(s.onFrameTooLarge({ type: CP.frameClientCertificate, streamId: 0, length: MAX + 1 }))?.name).to.equal('frame-before-negotiation')
  })

  it('server: an oversized CLIENT_CERTIFICATE on a stream is certificate-on-stream', () => {
    expect(violation(server().onFrameTooLarge({ type: CP.frameClientCertificate, streamId: 5, length: MAX + 1 }))?.name).to.equal('certificate-on-stream')
  })

  it('server: an oversized AUTHENTICATOR_REQUESTS is authenticator-requests-at-server', () => {
    expect(violation(server().onFrameTooLarge({ type: CP.frameAuthenticatorRequests, streamId: 0, length: MAX + 1 }))).to.deep.equal({
      name: 'authenticator-requests-at-server',
      code: 0x1,
    })
  })

  it('server: an oversized SERVER_CERTIFICATE from a client is server-certificate-from-client', () => {
    expect(violation(server().onFrameTooLarge({ type: CP.frameServerCertificate, streamId: 0, length: MAX + 1 }))?.name).to.equal('server-certificate-from-client')
  })

  it('server: an oversized CLIENT_CERTIFICATE nobody asked for is FRAME_SIZE_ERROR (size is checked first)', () => {
    expect(violation(server().onFrameTooLarge({ type: CP.frameClientCertificate, streamId: 0, length: MAX + 1 }))?.name).to.equal('extension-frame-too-large')
  })

  it('server in shared mode: the shared type follows the client-certificate rules', () => {
    const shared = resolveCodepoints(undefined, 'shared')
    const s = server(shared)
    expect(violation(s.onFrameTooLarge({ type: shared.frameClientCertificate, streamId: 0, length: MAX + 1 }))?.name).to.equal('extension-frame-too-large')
  })

  it('client: an oversized SERVER_CERTIFICATE is FRAME_SIZE_ERROR once negotiated', () => {
    expect(violation(client().onFrameTooLarge({ type: CP.frameServerCertificate, streamId: 0, length: MAX + 1 }))).to.deep.equal({
      name: 'extension-frame-too-large',
      code: 0x6,
    })
  })

  it('client: an oversized SERVER_CERTIFICATE before negotiation is frame-before-negotiation', () => {
    expect(violation(client(false).onFrameTooLarge({ type: CP.frameServerCertificate, streamId: 0, length: MAX + 1 }))?.name).to.equal('frame-before-negotiation')
  })

  it('client: an oversized AUTHENTICATOR_REQUESTS on a stream is authenticator-requests-on-stream', () => {
    expect(violation(client().onFrameTooLarge({ type: CP.frameAuthenticatorRequests, streamId: 3, length: MAX + 1 }))?.name).to.equal('authenticator-requests-on-stream')
  })

  it('client: an oversized AUTHENTICATOR_REQUESTS before negotiation is frame-before-negotiation', () => {
    expect(violation(client(false).onFrameTooLarge({ type: CP.frameAuthenticatorRequests, streamId: 0, length: MAX + 1 }))?.name).to.equal('frame-before-negotiation')
  })

  it('client: an oversized AUTHENTICATOR_REQUESTS once negotiated is FRAME_SIZE_ERROR', () => {
    expect(violation(client().onFrameTooLarge({ type: CP.frameAuthenticatorRequests, streamId: 0, length: MAX + 1 }))?.name).to.equal('extension-frame-too-large')
  })

  it('client: an oversized CLIENT_CERTIFICATE from a server is client-certificate-from-server', () => {
    expect(violation(client().onFrameTooLarge({ type: CP.frameClientCertificate, streamId: 0, length: MAX + 1 }))?.name).to.equal('client-certificate-from-server')
  })

  it('ignores input once closed', () => {
    const c = client()
    c.onFrameTooLarge({ type: CP.frameServerCertificate, streamId: 0, length: MAX + 1 })
    expect(c.onFrameTooLarge({ type: CP.frameServerCertificate, streamId: 0, length: MAX + 1 })).to.deep.equal([])
  })
})
