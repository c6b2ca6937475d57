import { expect } from 'chai'
import {
  authenticateMtlsClient,
  matchSelfSignedTlsClientAuth,
  matchTlsClientAuth,
  parseIpAddress,
  type MtlsClientMetadata,
} from '../../lib/oauth/client-auth.js'
import { makeCert, type MadeCert } from './support.js'

const CN = '2.5.4.3'
const O = '2.5.4.10'
const C = '2.5.4.6'

describe('oauth/client-auth', () => {
  let pkiClient: MadeCert
  let other: MadeCert
  before(async () => {
    ;[pkiClient, other] = await Promise.all([
      makeCert({
        subject: [{ [C]: [{ printableString: 'SE' }] }, { [O]: [{ utf8String: 'Example AB' }] }, { [CN]: [{ utf8String: 'client-1' }] }],
        dns: ['Client-1.Example.com'],
        uris: ['spiffe://example.org/ns/prod/sa/client-1'],
        ips: ['192.0.2.10', '2001:db8::a'],
        emails: ['Ops@Example.COM'],
      }),
      makeCert({
        subject: [{ [CN]: [{ utf8String: 'client-2' }] }],
        dns: ['client-2.example.com', '*.example.com'],
        uris: ['spiffe://example.org/ns/prod/sa/client-2'],
        // Hex form: @peculiar/x509 2.2 mis-encodes the dotted tail of '::ffff:192.0.2.10'.
        ips: ['192.0.2.11', '::ffff:c000:20a'],
        emails: ['ops@example.net'],
      }),
    ])
  })

  describe('parseIpAddress', () => {
    it('parses IPv4 and every IPv6 text form to the same bytes', () => {
      expect([...parseIpAddress('192.0.2.10')!]).to.deep.equal([192, 0, 2, 10])
      const want = [...parseIpAddress('2001:db8:0:0:0:0:0:a')!]
      for (const t of ['2001:db8::a', '2001:DB8::A', '2001:0db8:0000::000a']) expect([...parseIpAddress(t)!], t).to.deep.equal(want)
      expect([...parseIpAddress('::ffff:192.0.2.10')!].slice(10)).to.deep.equal([0xff, 0xff, 192, 0, 2, 10])
      expect([...parseIpAddress('::')!]).to.deep.equal(new Array(16).fill(0))
    })
    it('rejects leading zeros in IPv4, zones, host names and garbage', () => {
      for (const t of ['192.0.2.010', 'fe80::1%eth0', 'example.com', '1.2.3', '1::2::3', '']) expect(parseIpAddress(t), t).to.equal(undefined)
    })
  })

  describe('matchTlsClientAuth', () => {
    const cases: readonly { form: string; key: keyof MtlsClientMetadata; match: string; miss: string }[] = [
      { form: 'subject_dn', key: 'tls_client_auth_subject_dn', match: 'cn=Client-1, o=example ab, c=se', miss: 'CN=client-2,O=Example AB,C=SE' },
      { form: 'san_dns', key: 'tls_client_auth_san_dns', match: 'client-1.example.COM', miss: 'client-2.example.com' },
      { form: 'san_uri', key: 'tls_client_auth_san_uri', match: 'spiffe://example.org/ns/prod/sa/client-1', miss: 'spiffe://example.org/ns/prod/sa/Client-1' },
      { form: 'san_ip', key: 'tls_client_auth_san_ip', match: '2001:0db8:0:0::000A', miss: '2001:db8::b' },
      { form: 'san_email', key: 'tls_client_auth_san_email', match: 'Ops@example.com', miss: 'ops@example.com' },
    ]
    for (const c of cases) {
      it(`authenticates by ${c.key}`, () => {
        const r = matchTlsClientAuth({ [c.key]: c.match }, pkiClient.der)
        expect(r).to.deep.include({ ok: true, method: 'tls_client_auth', matchedBy: c.form })
      })
      it(`rejects a certificate that does not carry the registered ${c.key}`, () => {
        const r = matchTlsClientAuth({ [c.key]: c.miss }, pkiClient.der)
        expect(r).to.deep.equal({ ok: false, reason: c.form === 'subject_dn' ? 'subject-mismatch' : 'san-mismatch' })
      })
    }

    it('matches an IPv4 SAN in binary and does not equate it with its IPv4-mapped IPv6 form', () => {
      expect(matchTlsClientAuth({ tls_client_auth_san_ip: '192.0.2.10' }, pkiClient.der).ok).to.equal(true)
      expect(matchTlsClientAuth({ tls_client_auth_san_ip: '192.0.2.10' }, other.der)).to.deep.equal({ ok: false, reason: 'san-mismatch' })
      expect(matchTlsClientAuth({ tls_client_auth_san_ip: '::ffff:192.0.2.10' }, other.der).ok).to.equal(true)
    })

    it('does not apply wildcard SANs', () => {
      expect(matchTlsClientAuth({ tls_client_auth_san_dns: 'client-9.example.com' }, other.der)).to.deep.equal({ ok: false, reason: 'san-mismatch' })
    })

    it('reports ambiguous-metadata when two forms are registered', () => {
      const r = matchTlsClientAuth(
        { tls_client_auth_san_dns: 'client-1.example.com', tls_client_auth_subject_dn: 'CN=client-1,O=Example AB,C=SE' },
        pkiClient.der,
      )
      expect(r).to.deep.equal({ ok: false, reason: 'ambiguous-metadata' })
    })

    it('reports no-metadata, and bad-metadata for an unparseable DN or IP or an empty value', () => {
      expect(matchTlsClientAuth({}, pkiClient.der)).to.deep.equal({ ok: false, reason: 'no-metadata' })
      expect(matchTlsClientAuth({ tls_client_auth_subject_dn: 'CN=a;b' }, pkiClient.der)).to.deep.equal({ ok: false, reason: 'bad-metadata' })
      expect(matchTlsClientAuth({ tls_client_auth_san_ip: '192.0.2.300' }, pkiClient.der)).to.deep.equal({ ok: false, reason: 'bad-metadata' })
      expect(matchTlsClientAuth({ tls_client_auth_san_dns: '' }, pkiClient.der)).to.deep.equal({ ok: false, reason: 'bad-metadata' })
    })

    it('reports bad-certificate for bytes that are not a certificate', () => {
      expect(matchTlsClientAuth({ tls_client_auth_san_dns: 'x' }, Uint8Array.from([0x30, 0x00]))).to.deep.equal({ ok: false, reason: 'bad-certificate' })
    })
  })

  describe('matchSelfSignedTlsClientAuth', () => {
    it('matches a registered JWK whose x5c[0] is the certificate', () => {
      const metadata = { jwks: { keys: [{ ...other.jwk, x5c: [other.x5c] }, { ...pkiClient.jwk, kid: 'c1', x5c: [pkiClient.x5c] }] } }
      expect(matchSelfSignedTlsClientAuth(metadata, pkiClient.der)).to.deep.include({
        ok: true,
        method: 'self_signed_tls_client_auth',
        matchedBy: 'x5c',
        keyIndex: 1,
      })
    })

    it('matches a registered bare public key, unless x5c is required', () => {
      const metadata = { jwks: { keys: [pkiClient.jwk] } }
      expect(matchSelfSignedTlsClientAuth(metadata, pkiClient.der)).to.deep.include({ ok: true, matchedBy: 'public-key', keyIndex: 0 })
      expect(matchSelfSignedTlsClientAuth(metadata, pkiClient.der, { requireX5c: true })).to.deep.equal({ ok: false, reason: 'key-mismatch' })
    })

    it('rejects a certificate whose key is not registered', () => {
      const metadata = { jwks: { keys: [other.jwk, { ...other.jwk, x5c: [other.x5c] }] } }
      expect(matchSelfSignedTlsClientAuth(metadata, pkiClient.der)).to.deep.equal({ ok: false, reason: 'key-mismatch' })
    })

    it('rejects a new certificate for the same key when the registration pins x5c', async () => {
      const reissued = await makeCert({ keys: pkiClient.keys })
      const pinned = { jwks: { keys: [{ ...pkiClient.jwk, x5c: [pkiClient.x5c] }] } }
      expect(matchSelfSignedTlsClientAuth(pinned, reissued.der)).to.deep.equal({ ok: false, reason: 'key-mismatch' })
      expect(matchSelfSignedTlsClientAuth({ jwks: { keys: [pkiClient.jwk] } }, reissued.der).ok).to.equal(true)
    })

    it('ignores a JWK whose key members contradict its x5c', () => {
      const metadata = { jwks: { keys: [{ ...other.jwk, x5c: [pkiClient.x5c] }] } }
      expect(matchSelfSignedTlsClientAuth(metadata, pkiClient.der)).to.deep.equal({ ok: false, reason: 'key-mismatch' })
    })

    it('reports no-jwks without a JWK Set', () => {
      expect(matchSelfSignedTlsClientAuth({}, pkiClient.der)).to.deep.equal({ ok: false, reason: 'no-jwks' })
      expect(matchSelfSignedTlsClientAuth({ jwks: { keys: [] } }, pkiClient.der)).to.deep.equal({ ok: false, reason: 'no-jwks' })
    })
  })

  describe('authenticateMtlsClient', () => {
    it('authenticates by a secondary certificate and says which one to bind tokens to', () => {
      const r = authenticateMtlsClient(
        { token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_san_uri: 'spiffe://example.org/ns/prod/sa/client-1' },
        { handshake: other.der, secondary: [pkiClient.der] },
      )
      expect(r.ok && r.source).to.equal('secondary')
      expect(r.ok && r.certificate).to.equal(pkiClient.der)
    })

    it('honours accept: handshake', () => {
      const r = authenticateMtlsClient(
        { token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_san_uri: 'spiffe://example.org/ns/prod/sa/client-1' },
        { handshake: other.der, secondary: [pkiClient.der] },
        { accept: 'handshake' },
      )
      expect(r).to.deep.equal({ ok: false, reason: 'san-mismatch' })
    })

    it('dispatches self_signed_tls_client_auth and reports registration errors at once', () => {
      const ok = authenticateMtlsClient(
        { token_endpoint_auth_method: 'self_signed_tls_client_auth', jwks: { keys: [pkiClient.jwk] } },
        { handshake: pkiClient.der, secondary: [] },
      )
      expect(ok.ok && [ok.method, ok.source]).to.deep.equal(['self_signed_tls_client_auth', 'handshake'])
      const ambiguous = authenticateMtlsClient(
        { token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_san_dns: 'a', tls_client_auth_san_email: 'b@c' },
        { handshake: pkiClient.der, secondary: [] },
      )
      expect(ambiguous).to.deep.equal({ ok: false, reason: 'ambiguous-metadata' })
    })

    it('refuses other methods and connections without certificates', () => {
      expect(authenticateMtlsClient({ token_endpoint_auth_method: 'private_key_jwt' }, { secondary: [pkiClient.der] })).to.deep.equal({
        ok: false,
        reason: 'unsupported-method',
      })
      expect(
        authenticateMtlsClient({ token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_san_dns: 'x' }, { secondary: [] }),
      ).to.deep.equal({ ok: false, reason: 'no-certificate' })
    })
  })
})
