/**
 * Every argument surface of h2sc fed bad values, run in-process through `main()` (the same code
 * the launcher runs, without a Node start-up per case): one `h2sc: ...` line naming the flag or
 * file, exit status 2, nothing on stdout, no stack. spec/cli/h2sc.spec.ts runs a subset through
 * the real bin/h2sc.js.
 */
import { expect } from 'chai'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { COMMANDS, main, usage } from '../../lib/cli/h2sc.js'
import { commandHelp, parseCommandArgs } from '../../lib/cli/args.js'
import { PKI_KEY_TYPES, writeTestPki } from '../../lib/pki/test-pki.js'
import { createTestPki } from '../../lib/pki/test-pki.js'

interface Captured {
  code: number
  stdout: string
  stderr: string
}

/** Runs `main(argv)` with stdout and stderr captured. */
async function h2sc(argv: string[]): Promise<Captured> {
  let stdout = ''
  let stderr = ''
  const out = process.stdout.write.bind(process.stdout)
  const err = process.stderr.write.bind(process.stderr)
  process.stdout.write = ((c: string | Uint8Array) => ((stdout += String(c)), true)) as typeof process.stdout.write
  process.stderr.write = ((c: string | Uint8Array) => ((stderr += String(c)), true)) as typeof process.stderr.write
  try {
    const code = await main(argv)
    return { code, stdout, stderr }
  } finally {
    process.stdout.write = out
    process.stderr.write = err
  }
}

describe('cli/args (in-process)', function () {
  this.timeout(30_000)
  let dir = ''
  let other = ''
  const f = (n: string): string => join(dir, n)
  const g = (n: string): string => join(other, n)

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'h2sc-args-'))
    other = mkdtempSync(join(tmpdir(), 'h2sc-args-other-'))
    const [a, b] = await Promise.all([createTestPki(), createTestPki({ keyType: 'ed25519' })])
    await writeTestPki(a, dir)
    await writeTestPki(b, other)
    writeFileSync(f('empty.pem'), '')
    writeFileSync(f('garbage.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')
    mkdirSync(f('subdir'))
    writeFileSync(f('empty.bin'), '')
  })

  after(() => {
    for (const d of [dir, other]) if (d) rmSync(d, { recursive: true, force: true })
  })

  const srv = (): string[] => ['--cert', f('server.pem'), '--key', f('server-key.pem'), '--ca', f('ca.pem'), '--port', '0']
  const url = 'https://127.0.0.1:1/whoami'

  // [name, argv, what the one line must say]
  const cases = (): [string, string[], RegExp][] => [
    // top level
    ['an unknown command', ['frobnicate'], /unknown command 'frobnicate'.*h2sc --help/],
    ['help for an unknown command', ['help', 'frobnicate'], /unknown command 'frobnicate'/],
    ['a flag instead of a command', ['--key-type', 'p256'], /unknown command '--key-type'/],
    // generic parsing, on every parsed command
    ...COMMANDS.filter((c) => c.parse !== 'raw').map((c): [string, string[], RegExp] => [
      `an unknown flag on ${c.name}`, [c.name, '--bogus'], new RegExp(`${c.name}: unknown flag --bogus \\(see 'h2sc ${c.name} --help'\\)`),
    ]),
    ['a short unknown flag', ['pki', '-x'], /pki: unknown flag -x/],
    ['a missing value at the end', ['pki', '--out'], /pki: --out needs a value \(DIR\)/],
    ['a flag where a value should be', ['serve', '--cert', '--key', 'k'], /serve: --cert needs a value \(FILE\)/],
    ['an empty value', ['pki', '--out='], /pki: --out needs a non-empty value/],
    ['a value for a boolean flag', ['pki', '--out', 'x', '--force=yes'], /pki: --force takes no value, got 'yes'/],
    ['a flag given twice', ['pki', '--out', 'a', '--out', 'b'], /pki: --out given more than once/],
    ['an extra positional', ['pki', '--out', 'a', 'b'], /pki: unexpected argument 'b'/],
    ['a missing required flag', ['pki'], /pki needs --out DIR/],
    ['a missing positional', ['request', '--ca', 'x'], /request needs URL/],
    // pki
    ['--key-type foo', ['pki', '--out', join(tmpdir(), 'h2sc-never'), '--key-type', 'foo'], new RegExp(`--key-type must be one of ${PKI_KEY_TYPES.join(', ')}, got 'foo'`)],
    ['a non-empty --out without --force', ['pki', '--out', dir], /--out .* is not empty \(\d+ entries\); add --force to overwrite/],
    ['--out naming a file', ['pki', '--out', f('ca.pem')], /--out .*ca\.pem exists and is not a directory/],
    ['--days 0', ['pki', '--out', 'x', '--days', '0'], /--days must be a whole number of days from 1 to 36500, got '0'/],
    ['--days abc', ['pki', '--out', 'x', '--days', 'abc'], /--days must be .* got 'abc'/],
    ['--days 1.5', ['pki', '--out', 'x', '--days', '1.5'], /--days must be .* got '1\.5'/],
    ['--not-before yesterday', ['pki', '--out', 'x', '--not-before', 'yesterday'], /--not-before must be a date like 2030-01-31/],
    ['--not-after 2030-13-45', ['pki', '--out', 'x', '--not-after', '2030-13-45'], /--not-after must be a date/],
    ['--not-after before --not-before', ['pki', '--out', 'x', '--not-before', '2030-01-02', '--not-after', '2030-01-01'], /--not-after \(2030-01-01T00:00:00\.000Z\) must be later than --not-before/],
    ['--expired with --days', ['pki', '--out', 'x', '--expired', '--days', '3'], /--expired cannot be combined with --not-before, --not-after or --days/],
    ['--days with --not-after', ['pki', '--out', 'x', '--days', '3', '--not-after', '2031-01-01'], /--days and --not-after cannot both be given/],
    ['--name with a comma', ['pki', '--out', 'x', '--name', 'a, CN=b'], /--name must be 1-64 letters/],
    // serve: files
    ['an unreadable --cert', ['serve', '--cert', '/nonexistent/c.pem', '--key', 'k', '--ca', 'c'], /--cert: cannot read certificate file \/nonexistent\/c\.pem: ENOENT/],
    ['an unreadable --key', ['serve', '--cert', f('server.pem'), '--key', '/nonexistent/k.pem', '--ca', 'c'], /--key: cannot read key file \/nonexistent\/k\.pem: ENOENT/],
    ['an unreadable --ca', ['serve', '--cert', f('server.pem'), '--key', f('server-key.pem'), '--ca', '/nonexistent/ca.pem'], /--ca: cannot read CA file \/nonexistent\/ca\.pem: ENOENT/],
    ['a directory as --ca', ['serve', '--cert', f('server.pem'), '--key', f('server-key.pem'), '--ca', f('subdir')], /--ca: cannot read CA file .*subdir: EISDIR/],
    ['a key file as --cert', ['serve', '--cert', f('server-key.pem'), '--key', f('server-key.pem'), '--ca', f('ca.pem')], /--cert .*server-key\.pem: no PEM certificate found/],
    ['an empty --cert', ['serve', '--cert', f('empty.pem'), '--key', f('server-key.pem'), '--ca', f('ca.pem')], /--cert .*empty\.pem: no PEM certificate found/],
    ['a garbage PEM --cert', ['serve', '--cert', f('garbage.pem'), '--key', f('server-key.pem'), '--ca', f('ca.pem')], /--cert .*garbage\.pem: the first certificate is not readable X\.509/],
    ['a certificate file as --key', ['serve', '--cert', f('server.pem'), '--key', f('server.pem'), '--ca', f('ca.pem')], /--key .*server\.pem: not a readable PKCS#8, SEC1 or PKCS#1 private key/],
    ['a --key of another certificate', ['serve', '--cert', f('server.pem'), '--key', f('device-key.pem'), '--ca', f('ca.pem')], /--key .*device-key\.pem does not match --cert .*server\.pem \(CN=localhost,O=h2sc test\)/],
    ['a --key of another key type', ['serve', '--cert', f('server.pem'), '--key', g('server-key.pem'), '--ca', f('ca.pem')], /--key .* does not match --cert .* \(an ed25519 key for an ec certificate/],
    ['a key file as --ca', ['serve', '--cert', f('server.pem'), '--key', f('server-key.pem'), '--ca', f('server-key.pem')], /--ca .*server-key\.pem: no PEM certificate found/],
    ['a garbage --ca', ['serve', '--cert', f('server.pem'), '--key', f('server-key.pem'), '--ca', f('garbage.pem')], /--ca .*garbage\.pem: certificate 1 is not readable X\.509/],
    ['a secondary server certificate with the wrong key', [...['serve'], ...srv(), '--server-cert', f('origin2.pem'), '--server-key', f('device-key.pem')], /--server-key .*device-key\.pem does not match --server-cert .*origin2\.pem \(CN=other\.localhost/],
    ['an unreadable --server-cert', ['serve', ...srv(), '--server-cert', '/nonexistent/o.pem', '--server-key', f('origin2-key.pem')], /--server-cert: cannot read certificate file \/nonexistent\/o\.pem: ENOENT/],
    ['--server-cert without --server-key', ['serve', ...srv(), '--server-cert', f('origin2.pem')], /--server-cert needs --server-key/],
    ['--server-key without --server-cert', ['serve', ...srv(), '--server-key', f('origin2-key.pem')], /--server-key needs --server-cert/],
    // serve: values
    ['an unknown --policy', ['serve', ...srv(), '--policy', 'lenient'], /--policy must be rfc5280 or frank, got 'lenient'/],
    ['an unknown --require label', ['serve', ...srv(), '--require', 'device,robot'], /--require takes device and\/or user, got 'device,robot'/],
    ['an empty --require list', ['serve', ...srv(), '--require', ','], /--require takes device and\/or user/],
    ['a --request label with a space', ['serve', ...srv(), '--request', 'a b'], /--request takes comma-separated labels/],
    ['--port 70000', ['serve', ...srv().slice(0, -2), '--port', '70000'], /--port must be a port number, got '70000'/],
    ['--port -1', ['serve', ...srv().slice(0, -2), '--port', '-1'], /--port must be a port number, got '-1'/],
    ['--port http', ['serve', ...srv().slice(0, -2), '--port', 'http'], /--port must be a port number, got 'http'/],
    ['--timeout-ms 0', ['serve', ...srv(), '--timeout-ms', '0'], /--timeout-ms must be a number of milliseconds from 1 to 3600000, got '0'/],
    ['--timeout-ms 1e3', ['serve', ...srv(), '--timeout-ms', '1e3'], /--timeout-ms must be .* got '1e3'/],
    ['a --host that cannot be bound', ['serve', ...srv(), '--host', '203.0.113.7'], /--host 203\.0\.113\.7 --port 0: cannot listen: EADDRNOTAVAIL/],
    // request
    ['a request URL that is not a URL', ['request', 'not a url', '--ca', f('ca.pem')], /not a URL: not a url/],
    ['an http:// request URL', ['request', 'http://127.0.0.1:1/', '--ca', f('ca.pem')], /request needs an https:\/\/ URL/],
    ['two request URLs', ['request', url, url, '--ca', f('ca.pem')], /request: unexpected argument 'https:/],
    ['an unreadable request --ca', ['request', url, '--ca', '/nonexistent/ca.pem'], /--ca: cannot read CA file \/nonexistent\/ca\.pem/],
    ['a --cred without colons', ['request', url, '--ca', f('ca.pem'), '--cred', 'nolabel'], /--cred wants LABEL:CERT:KEY, got 'nolabel'/],
    ['a --cred with an empty part', ['request', url, '--ca', f('ca.pem'), '--cred', `user::${f('user-key.pem')}`], /--cred wants LABEL:CERT:KEY/],
    ['a --cred label with a space', ['request', url, '--ca', f('ca.pem'), '--cred', `u s:${f('user.pem')}:${f('user-key.pem')}`], /--cred label must be letters/],
    ['a --cred with an unreadable key', ['request', url, '--ca', f('ca.pem'), '--cred', `user:${f('user.pem')}:/nonexistent/k.pem`], /--cred user key: cannot read key file \/nonexistent\/k\.pem: ENOENT/],
    ['a --cred whose key does not match', ['request', url, '--ca', f('ca.pem'), '--cred', `user:${f('user.pem')}:${f('device-key.pem')}`], /--cred user key .*device-key\.pem does not match --cred user certificate .*user\.pem \(CN=user/],
    ['a --cred label given twice', ['request', url, '--ca', f('ca.pem'), '--cred', `user:${f('user.pem')}:${f('user-key.pem')}`, '--cred', `user:${f('user.pem')}:${f('user-key.pem')}`], /--cred label 'user' given more than once/],
    ['a request --timeout-ms of -5', ['request', url, '--ca', f('ca.pem'), '--timeout-ms', '-5'], /--timeout-ms must be .* got '-5'/],
    // inspect
    ['inspect text that is neither file nor hex', ['inspect', 'zz'], /inspect input is not a file and not hex: unexpected 'z'/],
    ['inspect an odd number of hex digits', ['inspect', 'abc'], /odd number of hex digits \(3\)/],
    ['inspect a missing file', ['inspect', '/nonexistent/frame.bin'], /cannot read file \/nonexistent\/frame\.bin: ENOENT/],
    ['inspect a directory', ['inspect', f('subdir')], /cannot read file .*subdir: EISDIR/],
    ['inspect an empty file', ['inspect', f('empty.bin')], /file .*empty\.bin is empty/],
    ['inspect with no input', ['inspect'], /inspect needs INPUT/],
  ]

  it('has a case for each command in the table', () => {
    const names = new Set(cases().map(([, argv]) => argv[0]))
    for (const c of COMMANDS.filter((x) => x.parse !== 'raw')) expect(names, c.name).to.include(c.name)
  })

  describe('bad arguments', () => {
    // The paths in the table are only known after before(): the names are read now, and each
    // case is rebuilt when its test runs.
    const names = cases().map(([n]) => n)
    for (const name of names) {
      it(`answers ${name} with one line, exit 2, nothing on stdout`, async () => {
        const [, argv, message] = cases().find(([n]) => n === name)!
        const r = await h2sc(argv)
        expect(r.code, r.stderr).to.equal(2)
        expect(r.stdout).to.equal('')
        const lines = r.stderr.trimEnd().split('\n')
        expect(lines, r.stderr).to.have.length(1)
        expect(lines[0]).to.match(/^h2sc: /)
        expect(lines[0]).to.match(message)
        expect(r.stderr).to.not.match(/^\s+at /m)
      })
    }
  })

  describe('help', () => {
    for (const c of COMMANDS) {
      it(`${c.name} --help exits 0 and lists every flag of ${c.name}`, async () => {
        for (const argv of [[c.name, '--help'], [c.name, '-h'], ['help', c.name]]) {
          const r = await h2sc(argv)
          expect(r.code, argv.join(' ')).to.equal(0)
          expect(r.stderr).to.equal('')
          expect(r.stdout).to.match(new RegExp(`^usage: h2sc ${c.name}`))
          for (const f of c.flags) expect(r.stdout, `${c.name} --${f.name}`).to.contain(`--${f.name}`)
        }
      })
    }

    it('answers --help even after other flags or bad values', async () => {
      const r = await h2sc(['pki', '--key-type', 'foo', '--help'])
      expect(r.code).to.equal(0)
      expect(r.stdout).to.match(/^usage: h2sc pki/)
    })

    it('lists every subcommand and each of its flags in the top usage text', async () => {
      for (const argv of [['--help'], ['-h'], ['help']]) {
        const r = await h2sc(argv)
        expect(r.code).to.equal(0)
        for (const c of COMMANDS) {
          expect(r.stdout).to.match(new RegExp(`^  ${c.name} `, 'm'))
          for (const f of c.flags) expect(r.stdout, `${c.name} --${f.name}`).to.contain(`--${f.name}`)
        }
      }
      expect(usage()).to.match(/--key-type TYPE/)
      expect(usage()).to.match(/^  h2sc conformance server URL/m)
    })

    it('prints the usage on stderr with exit 2 when no command is given', async () => {
      const r = await h2sc([])
      expect(r.code).to.equal(2)
      expect(r.stdout).to.equal('')
      expect(r.stderr).to.match(/^usage: h2sc COMMAND/)
    })

    it('keeps help lines within 100 columns', () => {
      for (const c of COMMANDS) {
        for (const line of commandHelp(c).split('\n')) expect(line.length, line).to.be.at.most(100)
      }
      for (const line of usage().split('\n')) expect(line.length, line).to.be.at.most(100)
    })
  })

  describe('pki (writing)', () => {
    const out = (n: string): string => join(other, 'runs', n)
    const subject = (path: string): string => new X509Certificate(readFileSync(path, 'utf8')).subject

    it('writes CA keys, refuses to overwrite without --force, and overwrites with new CA names', async () => {
      const first = await h2sc(['pki', '--out', out('a')])
      expect(first.code, first.stderr).to.equal(0)
      expect(first.stdout).to.match(/^wrote 12 files to .*: ca\.pem, ca-key\.pem, intermediate\.pem, intermediate-key\.pem, /)
      const ca1 = readFileSync(join(out('a'), 'ca.pem'), 'utf8')
      expect(createPrivateKey(readFileSync(join(out('a'), 'ca-key.pem'), 'utf8')).asymmetricKeyType).to.equal('ec')
      expect(createPrivateKey(readFileSync(join(out('a'), 'intermediate-key.pem'), 'utf8')).asymmetricKeyType).to.equal('ec')
      expect(statSync(join(out('a'), 'ca-key.pem')).mode & 0o077).to.equal(0)
      const refused = await h2sc(['pki', '--out', out('a')])
      expect(refused.code).to.equal(2)
      expect(refused.stderr).to.match(/^h2sc: --out \S+ is not empty \(12 entries\); add --force to overwrite\n$/)
      expect(readFileSync(join(out('a'), 'ca.pem'), 'utf8')).to.equal(ca1)
      const forced = await h2sc(['pki', '--out', out('a'), '--force', '--key-type', 'ed25519'])
      expect(forced.code, forced.stderr).to.equal(0)
      const ca2 = readFileSync(join(out('a'), 'ca.pem'), 'utf8')
      expect(ca2).to.not.equal(ca1)
      expect(new X509Certificate(ca2).subject).to.not.equal(new X509Certificate(ca1).subject)
      expect(new X509Certificate(ca2).subject).to.match(/^CN=h2sc Test Root CA \(ed25519\) [0-9a-f]{8}$/m)
    })

    it('keeps CA names fixed with --name', async () => {
      for (const d of ['n1', 'n2']) expect((await h2sc(['pki', '--out', out(d), '--name', 'lab 7'])).code).to.equal(0)
      expect(subject(join(out('n1'), 'ca.pem'))).to.equal(subject(join(out('n2'), 'ca.pem')))
      expect(subject(join(out('n1'), 'intermediate.pem'))).to.match(/^CN=h2sc Test Intermediate CA \(p256\) lab 7$/m)
    })

    it('--expired, --days and --not-before/--not-after set the secondary certificates\' validity', async () => {
      const validity = (d: string, leaf: string): [number, number] => {
        const c = new X509Certificate(readFileSync(join(out(d), `${leaf}.pem`), 'utf8'))
        return [new Date(c.validFrom).getTime(), new Date(c.validTo).getTime()]
      }
      expect((await h2sc(['pki', '--out', out('exp'), '--expired'])).code).to.equal(0)
      for (const leaf of ['device', 'user', 'origin2']) expect(validity('exp', leaf)[1]).to.be.lessThan(Date.now())
      expect(validity('exp', 'server')[1]).to.be.greaterThan(Date.now())
      expect((await h2sc(['pki', '--out', out('days'), '--days', '2'])).code).to.equal(0)
      const [from, to] = validity('days', 'user')
      expect(to - from).to.equal(2 * 86_400_000)
      const r = await h2sc(['pki', '--out', out('window'), '--not-before', '2031-01-01', '--not-after', '2031-02-01T12:00:00Z'])
      expect(r.code, r.stderr).to.equal(0)
      expect(r.stdout).to.match(/device, user, origin2 valid Jan {2}1 00:00:00 2031 GMT to Feb {2}1 12:00:00 2031 GMT/)
      expect(validity('window', 'device')).to.deep.equal([Date.parse('2031-01-01T00:00:00Z'), Date.parse('2031-02-01T12:00:00Z')])
    })
  })

  describe('inspect (files)', () => {
    it('decodes a file of hex text with 0x and newlines', async () => {
      writeFileSync(join(other, 'ack.hex'), '0x00 00 00 04\n01 00 00 00 00\n')
      const r = await h2sc(['inspect', join(other, 'ack.hex')])
      expect(r.code, r.stderr).to.equal(0)
      expect(r.stdout).to.equal('frame SETTINGS, length 0, flags 0x1, stream 0\n  ACK\n')
    })

    it('exits 1 and prints the per-frame error for a bad frame', async () => {
      const r = await h2sc(['inspect', '000007040000000000', 'aabbccddeeff00'])
      expect(r.code).to.equal(1)
      expect(r.stdout).to.match(/^  error: SETTINGS \(frame #1, offset 0\): .*length 7 is not a multiple of 6 \(rule length, RFC 9113 §6\.5\)$/m)
    })
  })

  describe('parseCommandArgs', () => {
    const pki = COMMANDS.find((c) => c.name === 'pki')!
    const request = COMMANDS.find((c) => c.name === 'request')!

    it('takes --flag=value, --flag value, repeated flags and -- before positionals', () => {
      const a = parseCommandArgs(pki, ['--out=d', '--key-type', 'rsa', '--force'])
      expect(a.values).to.deep.equal({ out: 'd', 'key-type': 'rsa', force: true })
      const b = parseCommandArgs(request, ['--ca', 'c', '--cred', 'a:b:c', '--cred', 'd:e:f', '--', 'https://x/'])
      expect(b.values['cred']).to.deep.equal(['a:b:c', 'd:e:f'])
      expect(b.positionals).to.deep.equal(['https://x/'])
    })

    it('takes a value that starts with a single dash (a negative number, stdin)', () => {
      expect(parseCommandArgs(pki, ['--out', '-']).values['out']).to.equal('-')
      expect(parseCommandArgs(pki, ['--out', 'x', '--days', '-3']).values['days']).to.equal('-3')
    })
  })
})
