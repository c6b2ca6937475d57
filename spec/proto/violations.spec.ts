import { expect } from 'chai'
import { Violation, violationCode, violationError } from '../../lib/proto/violations.js'
import type { ViolationKey } from '../../lib/proto/violations.js'
import { DEFAULT_CODEPOINTS, resolveCodepoints } from '../../lib/config.js'

/**
 * The error table of digest http2-secondary-certs §3.3, written out by hand. Each row is pinned
 * literally (name, HTTP/2 code on the wire with the default codepoints, who detects it, section):
 * changing, adding or removing a row in lib/proto/violations.ts fails this spec until the row is
 * changed here too, on purpose. `wire` is a number even for the configurable
 * SERVER_CERTIFICATE_INVALID row (0xf5a1, digest §5), so the spec does not reuse violationCode's
 * own mapping.
 */
const TABLE: Record<ViolationKey, { name: string; wire: number; detectedBy: 'client' | 'server' | 'either'; section: string }> = {
  AUTHENTICATOR_REQUESTS_AT_SERVER: { name: 'authenticator-requests-at-server', wire: 0x1, detectedBy: 'server', section: 'CLIENT -00 §4.1.1' },
  AUTHENTICATOR_REQUESTS_ON_STREAM: { name: 'authenticator-requests-on-stream', wire: 0x1, detectedBy: 'client', section: 'CLIENT -00 §4.1.1' },
  AUTHENTICATOR_REQUESTS_MALFORMED: { name: 'authenticator-requests-malformed', wire: 0x1, detectedBy: 'client', section: 'CLIENT -00 §4.1, §4.1.1' },
  TOO_MANY_OUTSTANDING: { name: 'too-many-outstanding-requests', wire: 0x1, detectedBy: 'client', section: 'CLIENT -00 §4.1.4' },
  BEFORE_NEGOTIATION: { name: 'frame-before-negotiation', wire: 0x1, detectedBy: 'either', section: 'CLIENT -00 §3.1, §4.2; SERVER -02 §3.1' },
  UNSOLICITED_CLIENT_CERTIFICATE: { name: 'unsolicited-client-certificate', wire: 0x1, detectedBy: 'server', section: 'CLIENT -00 §4.2' },
  CERTIFICATE_ON_STREAM: { name: 'certificate-on-stream', wire: 0x1, detectedBy: 'either', section: 'SERVER -02 §5.1; CLIENT -00 §4.2' },
  SERVER_CERTIFICATE_FROM_CLIENT: { name: 'server-certificate-from-client', wire: 0x1, detectedBy: 'server', section: 'SERVER -02 §3.2' },
  CLIENT_CERTIFICATE_FROM_SERVER: { name: 'client-certificate-from-server', wire: 0x1, detectedBy: 'client', section: 'CLIENT -00 §4.2 (our split-mode frame)' },
  SERVER_AUTHENTICATOR_INVALID: { name: 'server-authenticator-invalid', wire: 0xf5a1, detectedBy: 'client', section: 'SERVER -02 §5.3, §6.1' },
  CLIENT_AUTHENTICATOR_INVALID: { name: 'client-authenticator-invalid', wire: 0x1, detectedBy: 'server', section: 'CLIENT -00 §4.2.1 (no code defined; digest §2.4)' },
  FRAME_TOO_LARGE: { name: 'extension-frame-too-large', wire: 0x6, detectedBy: 'either', section: 'RFC 9113 §4.2' },
}

/** The only row whose code is a configurable codepoint (SERVER -02 §6.1, digest §5). */
const CONFIGURABLE: readonly ViolationKey[] = ['SERVER_AUTHENTICATOR_INVALID']

describe('proto/violations', () => {
  it('has exactly the rows of the pinned table', () => {
    expect(Object.keys(Violation).sort()).to.deep.equal(Object.keys(TABLE).sort())
  })

  it('names every row uniquely', () => {
    const names = Object.values(Violation).map((r) => r.name)
    expect(new Set(names).size).to.equal(names.length)
  })

  for (const [key, want] of Object.entries(TABLE) as [ViolationKey, (typeof TABLE)[ViolationKey]][]) {
    describe(key, () => {
      it(`is named ${want.name}, detected by the ${want.detectedBy}, from ${want.section}`, () => {
        const row = Violation[key]
        expect(row, `row ${key} missing`).to.not.equal(undefined)
        expect({ name: row.name, detectedBy: row.detectedBy, section: row.section }).to.deep.equal({
          name: want.name,
          detectedBy: want.detectedBy,
          section: want.section,
        })
        expect(row.description).to.be.a('string').and.not.equal('')
      })

      it(`puts 0x${want.wire.toString(16)} on the wire with the default codepoints`, () => {
        expect(violationCode(Violation[key], DEFAULT_CODEPOINTS)).to.equal(want.wire)
      })

      it('builds an ERR_SC_PROTOCOL error carrying the row', () => {
        const e = violationError(Violation[key], DEFAULT_CODEPOINTS, 'detail', { frameType: 0xf9 })
        expect(e.code).to.equal('ERR_SC_PROTOCOL')
        expect(e.violation).to.equal(want.name)
        expect(e.http2Code).to.equal(want.wire)
        expect(e.frameType).to.equal(0xf9)
        expect(e.remote).to.equal(false)
      })
    })
  }

  it('moves only the SERVER_CERTIFICATE_INVALID row with a configured codepoint', () => {
    const cp = resolveCodepoints({ errorServerCertificateInvalid: 0x1234 })
    for (const [key, want] of Object.entries(TABLE) as [ViolationKey, (typeof TABLE)[ViolationKey]][]) {
      expect(violationCode(Violation[key], cp), key).to.equal(CONFIGURABLE.includes(key) ? 0x1234 : want.wire)
    }
  })
})
