// Regenerates ml-dsa.json with OpenSSL's ML-DSA: run with a Node >= 24.6 (OpenSSL >= 3.5):
//   node spec/vectors/make-ml-dsa.cjs > spec/vectors/ml-dsa.json
// Inputs (seeds) are the first ACVP keyGen seed of each parameter set (NIST ACVP-Server
// ML-DSA-keyGen-FIPS204 prompt.json, tcId 1 / 26 / 51); everything else is OpenSSL's output.
'use strict'
const c = require('node:crypto')
const SETS = [
  ['ML-DSA-44', 0x11, 'ml-dsa-44', '079EAB79AB14747CA01582B59F2624191B0C59FA219CDEB79F66669DAF0E695E'],
  ['ML-DSA-65', 0x12, 'ml-dsa-65', 'AC37688A229C819F1F5BA5A2ED98E3D0AD98D1B5DB233FF8E8122040BCBA609F'],
  ['ML-DSA-87', 0x13, 'ml-dsa-87', '631AFC2A36A57E1D090DADC2791D486D72C69A9AABF97990C573214846FE5B64'],
]
// The bytes an RFC 9261 CertificateVerify signs (§5.2.2), with a fixed 48-byte hash.
const message = Buffer.concat([Buffer.alloc(64, 0x20), Buffer.from('Exported Authenticator'), Buffer.from([0]), Buffer.alloc(48, 7)])
const valid = []
for (const [name, oid, type, seedHex] of SETS) {
  // RFC 9881 §6 seed form: OneAsymmetricKey v1 { id-ML-DSA-NN, OCTET STRING { [0] seed } }.
  const prefix = `3034020100300b06096086480165030403${oid.toString(16)}04228020`
  const seedPkcs8 = Buffer.concat([Buffer.from(prefix, 'hex'), Buffer.from(seedHex, 'hex')])
  const key = c.createPrivateKey({ key: seedPkcs8, format: 'der', type: 'pkcs8' })
  if (key.asymmetricKeyType !== type) throw new Error(`expected ${type}`)
  const spki = c.createPublicKey(key).export({ type: 'spki', format: 'der' })
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' })
  const signature = c.sign(null, message, key)
  if (!c.verify(null, message, c.createPublicKey(key), signature)) throw new Error('self-check')
  valid.push({
    name: `${name} from ACVP keyGen seed`,
    parameterSet: name,
    seed: seedHex.toLowerCase(),
    seedPkcs8: seedPkcs8.toString('hex'),
    opensslPkcs8: pkcs8.toString('hex'),
    spki: spki.toString('hex'),
    message: message.toString('hex'),
    signature: signature.toString('hex'),
  })
}
process.stdout.write(JSON.stringify({
  source: `seeds: NIST ACVP-Server gen-val/json-files/ML-DSA-keyGen-FIPS204/prompt.json tcId 1, 26, 51; public keys, OpenSSL's own PKCS#8 export and the signatures (hedged, over an RFC 9261 §5.2.2 signed content) made by OpenSSL ${process.versions.openssl} in Node ${process.version} with spec/vectors/make-ml-dsa.cjs`,
  valid,
}, null, 2) + '\n')
