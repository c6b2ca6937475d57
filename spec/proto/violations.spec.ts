import { expect } from 'chai'
import { Violation, violationCode, violationError } from '../../lib/proto/violations.js'
import { DEFAULT_CODEPOINTS, resolveCodepoints } from '../../lib/config.js'

describe('proto/violations', () => {
  const rows = Object.entries(Violation)

  it('names every row uniquely and cites a section', () => {
    const names = new Set(rows.map(([, r]) => r.name))
    expect(names.size).to.equal(rows.length)
    for (const [, r] of rows) expect(r.section).to.match(/§|RFC/)
  })

  for (const [key, row] of rows) {
    it(`${key}: maps to its HTTP/2 code and builds an ERR_SC_PROTOCOL error`, () => {
      const e = violationError(row, DEFAULT_CODEPOINTS, 'detail', { frameType: 0xf9 })
      expect(e.code).to.equal('ERR_SC_PROTOCOL')
      expect(e.violation).to.equal(row.name)
      expect(e.frameType).to.equal(0xf9)
      expect(e.remote).to.equal(false)
      const expected = row.code === 'SERVER_CERTIFICATE_INVALID' ? 0xf5a1 : row.code
      expect(e.http2Code).to.equal(expected)
    })
  }

  it('uses PROTOCOL_ERROR where the drafts name no code, FRAME_SIZE_ERROR for size', () => {
    expect(Violation.UNSOLICITED_CLIENT_CERTIFICATE.code).to.equal(0x1)
    expect(Violation.CLIENT_AUTHENTICATOR_INVALID.code).to.equal(0x1)
    expect(Violation.FRAME_TOO_LARGE.code).to.equal(0x6)
  })

  it('follows a configured SERVER_CERTIFICATE_INVALID codepoint', () => {
    const cp = resolveCodepoints({ errorServerCertificateInvalid: 0x1234 })
    expect(violationCode(Violation.SERVER_AUTHENTICATOR_INVALID, cp)).to.equal(0x1234)
  })
})
