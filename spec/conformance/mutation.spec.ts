/**
 * The conformance tester's own mutation test (issue 11 item 4, "proven able to fail"): for every
 * check there is a reference peer that breaks exactly that check's rule (a `lax` flag of
 * interop/support/lax-server.ts or lax-client.ts), and the whole side's suite run against that
 * peer FAILs that check and only that check. First, the strict reference peers pass everything,
 * so a FAIL below is the flag's doing.
 *
 * Real TLS 1.3 on 127.0.0.1 throughout: the tester's raw client against the lax server, the
 * tester's misbehaving server against lax clients (one connection per check, all at once).
 * Every mutant runs the whole side's suite (600 ms per-check wait, server checks 4 at a time):
 * about 40 s in all on an idle 2-core machine, about 60 s with both cores busy elsewhere.
 */
import { expect } from 'chai'
import { CLIENT_CHECK_NAMES, SERVER_CHECK_NAMES, formatResults, listChecks, runConformanceClient, runConformanceServer } from '../../lib/conformance/index.js'
import type { ConformanceResult, PemCredential } from '../../lib/conformance/index.js'
import { LAX_SERVER_FLAGS, startLaxServer } from '../../interop/support/lax-server.js'
import type { LaxServerFlag } from '../../interop/support/lax-server.js'
import { LAX_CLIENT_FLAGS, runLaxClient } from '../../interop/support/lax-client.js'
import type { LaxClientFlag } from '../../interop/support/lax-client.js'
import { testPki } from '../support/pki.js'

/** Server-side check → the lax server flag that breaks its rule. */
const SERVER_MUTANTS: Readonly<Record<string, LaxServerFlag>> = {
  'settings-values': 'wrongSettingsValue',
  'request-signature-algorithms': 'omitSignatureAlgorithms',
  'requests-on-stream-0': 'requestsOnRequestStream',
  'unique-request-contexts': 'repeatContext',
  'requests-before-negotiation': 'requestBeforeNegotiation',
  'outstanding-limit': 'exceedLimit',
  declining: 'rejectDeclines',
  'unsolicited-client-certificate': 'ignoreUnsolicited',
  'client-certificate-on-stream': 'acceptCertificateOnStream',
  'authenticator-requests-to-server': 'ignoreAuthenticatorRequests',
  'server-certificate-from-client': 'ignoreServerCertificate',
  'frame-before-negotiation': 'closeOnUnnegotiatedFrame',
  'oversized-extension-frame': 'ignoreOversizedFrame',
  'invalid-signature': 'acceptInvalidSignature',
  'tampered-finished': 'acceptBadFinished',
  'wrong-context': 'acceptWrongContext',
  'scheme-not-offered': 'acceptUnofferedScheme',
  'scheme-key-mismatch': 'acceptSchemeKeyMismatch',
  'pkcs1-scheme': 'acceptPkcs1',
  'server-labels': 'acceptServerLabels',
  'truncated-authenticator': 'ignoreTruncated',
  'bytes-after-finished': 'ignoreTrailingBytes',
  'unrequested-entry-extension': 'acceptUnrequestedExtension',
  'replayed-authenticator': 'acceptReplay',
  'already-answered': 'acceptSecondAnswer',
  'replay-across-connections': 'acceptForeignAuthenticator',
}

/** Client-side check → the lax client flag that breaks its rule. */
const CLIENT_MUTANTS: Readonly<Record<string, LaxClientFlag>> = {
  'settings-values': 'wrongSettingsValue',
  'request-answered': 'answerWithServerLabels',
  'no-unrequested-answers': 'repeatLastAnswer',
  'answers-in-order': 'answerInReverse',
  'exceeds-client-limit': 'ignoreLimit',
  'requests-on-stream': 'acceptRequestsOnStream',
  'empty-request-list': 'ignoreEmptyList',
  'truncated-varint': 'ignoreTruncatedVarint',
  'length-past-end': 'clampLength',
  'not-a-certificate-request': 'skipUnknownEntries',
  'duplicated-context': 'allowDuplicateContext',
  'no-signature-algorithms': 'declineWithoutSignatureAlgorithms',
  'requests-before-negotiation': 'answerBeforeNegotiation',
  'type-17-request': 'ignoreType17',
  'invalid-server-certificate': 'acceptInvalidServerCertificate',
  'server-certificate-tampered-finished': 'acceptBadServerFinished',
  'server-certificate-on-stream': 'acceptServerCertificateOnStream',
  'server-certificate-unnegotiated': 'acceptUnnegotiatedServerCertificate',
  'server-certificate-replayed': 'acceptReplayedServerCertificate',
  'oversized-frame': 'ignoreOversizedFrame',
}

const invert = <F extends string>(m: Readonly<Record<string, F>>): Partial<Record<F, string>> =>
  Object.fromEntries(Object.entries(m).map(([check, flag]) => [flag, check])) as Partial<Record<F, string>>
const SERVER_TARGET = invert(SERVER_MUTANTS)
const CLIENT_TARGET = invert(CLIENT_MUTANTS)

/**
 * Checks that legitimately cannot run against a mutant: requests without signature_algorithms
 * offer no scheme, so no tester credential can answer them validly (the check says SKIP).
 */
const MAY_SKIP: Partial<Record<LaxServerFlag, readonly string[]>> = {
  omitSignatureAlgorithms: [
    'invalid-signature',
    'tampered-finished',
    'wrong-context',
    'scheme-key-mismatch',
    'server-labels',
    'unrequested-entry-extension',
    'replayed-authenticator',
    'already-answered',
    'replay-across-connections',
  ],
}

/** Per-check wait. Small for CI; every passing check needs far less on loopback. */
const TIMEOUT_MS = 600
/** The wait of the one re-run a check gets when it FAILs where it should PASS (a starved CPU). */
const CONFIRM_TIMEOUT_MS = 3000

type Run = (opts: { readonly only?: readonly string[]; readonly timeoutMs: number }) => Promise<ConformanceResult[]>

/**
 * Runs the whole suite; checks other than `target` that FAIL are run once more, alone and with a
 * longer wait, and that verdict counts. On a loaded 2-core CI machine a 600 ms wait can pass before
 * a correct peer's answer is scheduled; a check that really fails the peer fails twice.
 */
async function runConfirmed(run: Run, target?: string): Promise<ConformanceResult[]> {
  const results = await run({ timeoutMs: TIMEOUT_MS })
  const suspects = results.filter((r) => r.check !== target && r.result === 'fail').map((r) => r.check)
  if (suspects.length === 0) return results
  const again = new Map((await run({ only: suspects, timeoutMs: CONFIRM_TIMEOUT_MS })).map((r) => [r.check, r]))
  return results.map((r) => again.get(r.check) ?? r)
}

function expectOnlyFailure(results: readonly ConformanceResult[], names: readonly { check: string }[], target: string, mayskip: readonly string[] = []): void {
  const report = formatResults(results)
  expect(results.map((r) => r.check), report).to.deep.equal(names.map((n) => n.check))
  const t = results.find((r) => r.check === target)!
  expect(t.result, `${target} should FAIL the lax peer:\n${report}`).to.equal('fail')
  expect(t.detail, report).to.not.equal('')
  const others = results.filter((r) => r.check !== target && !(r.result === 'pass' || (r.result === 'skipped' && mayskip.includes(r.check))))
  expect(others.map((r) => `${r.result} ${r.check}: ${r.detail}`), `only ${target} should fail:\n${report}`).to.deep.equal([])
}

function expectAllPass(results: readonly ConformanceResult[], names: readonly { check: string }[]): void {
  const report = formatResults(results)
  expect(results.map((r) => r.check), report).to.deep.equal(names.map((n) => n.check))
  expect(results.filter((r) => r.result !== 'pass').map((r) => `${r.result} ${r.check}: ${r.detail}`), report).to.deep.equal([])
}

describe('conformance/mutation: every check fails the peer that breaks its rule, and only that check', function () {
  this.timeout(20000)

  it('maps every check of `h2sc conformance list` to its own lax flag, and every lax flag to a check', () => {
    const checks = listChecks()
    expect(Object.keys(SERVER_MUTANTS).sort()).to.deep.equal(checks.filter((c) => c.side === 'server').map((c) => c.check).sort())
    expect(Object.keys(CLIENT_MUTANTS).sort()).to.deep.equal(checks.filter((c) => c.side === 'client').map((c) => c.check).sort())
    expect(Object.values(SERVER_MUTANTS).sort()).to.deep.equal(Object.keys(LAX_SERVER_FLAGS).sort())
    expect(Object.values(CLIENT_MUTANTS).sort()).to.deep.equal(Object.keys(LAX_CLIENT_FLAGS).sort())
  })

  describe('server side: the tester against the lax reference server', () => {
    let ca: string
    let tls: { key: string; cert: string }
    let credentials: PemCredential[]

    before(async () => {
      const [p256, rsa, ed25519] = await Promise.all([testPki('p256'), testPki('rsa'), testPki('ed25519')])
      ca = p256.caPem
      tls = { key: p256.server.keyPem, cert: p256.server.chainPem }
      // Keys of three types, so the scheme checks have something to send (as the CLI generates).
      credentials = [p256, rsa, ed25519].map((p, i) => ({ label: `user-${i}`, cert: p.user.chainPem, key: p.user.keyPem }))
    })

    async function run(lax?: LaxServerFlag): Promise<ConformanceResult[]> {
      const server = await startLaxServer({ ...tls, ...(lax ? { lax } : {}) })
      try {
        const url = `https://127.0.0.1:${server.port}/`
        return await runConfirmed((o) => runConformanceServer(url, { ca, servername: 'localhost', credentials, concurrency: 4, ...o }), lax && SERVER_TARGET[lax])
      } finally {
        await server.close()
      }
    }

    it('the strict reference server passes every server-side check', async () => {
      expectAllPass(await run(), SERVER_CHECK_NAMES)
    })

    for (const { check } of SERVER_CHECK_NAMES) {
      const flag = SERVER_MUTANTS[check]
      it(`${check} FAILs a server that ${flag ? LAX_SERVER_FLAGS[flag] : '(no lax flag)'}`, async () => {
        expect(flag, `no lax server flag breaks the rule of ${check}`).to.be.a('string')
        expectOnlyFailure(await run(flag), SERVER_CHECK_NAMES, check, MAY_SKIP[flag!])
      })
    }
  })

  describe('client side: lax reference clients against the tester', () => {
    let ca: string
    let tls: { key: string; cert: string }
    let serverCredential: PemCredential
    let credential: { cert: string; key: string }

    before(async () => {
      const pki = await testPki('p256')
      ca = pki.caPem
      tls = { key: pki.server.keyPem, cert: pki.server.chainPem }
      serverCredential = { cert: pki.origin2.chainPem, key: pki.origin2.keyPem }
      credential = { cert: pki.user.chainPem, key: pki.user.keyPem }
    })

    /** The tester waits for clients; one lax client per check connects, all at once. */
    async function run(lax?: LaxClientFlag): Promise<ConformanceResult[]> {
      return runConfirmed(async (o) => {
        let listening: (port: number) => void = () => {}
        const port = new Promise<number>((resolve) => (listening = resolve))
        const results = runConformanceClient(0, { ...tls, serverCredential, totalTimeoutMs: 15000, onListening: (p) => listening(p), ...o })
        const p = await port
        const clients = (o.only ?? CLIENT_CHECK_NAMES).map(() => runLaxClient({ port: p, ca, servername: 'localhost', credential, ...(lax ? { lax } : {}) }))
        const [r] = await Promise.all([results, ...clients])
        return r
      }, lax && CLIENT_TARGET[lax])
    }

    it('the strict reference client passes every client-side check', async () => {
      expectAllPass(await run(), CLIENT_CHECK_NAMES)
    })

    for (const { check } of CLIENT_CHECK_NAMES) {
      const flag = CLIENT_MUTANTS[check]
      it(`${check} FAILs a client that ${flag ? LAX_CLIENT_FLAGS[flag] : '(no lax flag)'}`, async () => {
        expect(flag, `no lax client flag breaks the rule of ${check}`).to.be.a('string')
        expectOnlyFailure(await run(flag), CLIENT_CHECK_NAMES, check)
      })
    }
  })
})
