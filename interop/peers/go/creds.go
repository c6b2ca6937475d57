// Credentials (PEM chains and PKCS#8 keys of the harness PKI), TLS 1.3 signature schemes
// (RFC 8446 §4.2.3) and credential selection from a CertificateRequest (RFC 9261 §5.2.1;
// RFC 8446 §4.2.4 certificate_authorities, §4.2.5 oid_filters).
package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

var (
	oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSASSAPSS     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidExtKeyUsage   = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidServerAuth    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}
	oidClientAuth    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 2}
)

// credential is one identity the peer can present: a chain (leaf first) and its signer.
type credential struct {
	name  string
	chain [][]byte
	leaf  *x509.Certificate
	key   crypto.Signer
	pss   bool // the leaf's SPKI is id-RSASSA-PSS (rsa_pss_pss_* schemes)
}

func readPEM(file string) ([]*pem.Block, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var out []*pem.Block
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return out, nil
		}
		out = append(out, b)
	}
}

// parsePrivateKey reads PKCS#8, falling back to unwrapping an id-RSASSA-PSS PKCS#8 by hand:
// Go 1.19's x509 does not know that algorithm, but the inner key is a plain PKCS#1
// RSAPrivateKey (RFC 8017 A.1.2; RFC 5958 §2).
func parsePrivateKey(b *pem.Block) (crypto.Signer, error) {
	switch b.Type {
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(b.Bytes)
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err == nil {
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("key type %T cannot sign", k)
		}
		return s, nil
	}
	var p8 struct {
		Version    int
		Algorithm  pkix.AlgorithmIdentifier
		PrivateKey []byte
	}
	if _, err2 := asn1.Unmarshal(b.Bytes, &p8); err2 == nil && p8.Algorithm.Algorithm.Equal(oidRSASSAPSS) {
		return x509.ParsePKCS1PrivateKey(p8.PrivateKey)
	}
	return nil, err
}

func loadCredential(name, certFile, keyFile string) (*credential, error) {
	blocks, err := readPEM(certFile)
	if err != nil {
		return nil, err
	}
	c := &credential{name: name}
	for _, b := range blocks {
		if b.Type == "CERTIFICATE" {
			c.chain = append(c.chain, b.Bytes)
		}
	}
	if len(c.chain) == 0 {
		return nil, fmt.Errorf("%s: no certificate", certFile)
	}
	if c.leaf, err = x509.ParseCertificate(c.chain[0]); err != nil {
		return nil, fmt.Errorf("%s: %v", certFile, err)
	}
	kb, err := readPEM(keyFile)
	if err != nil {
		return nil, err
	}
	if len(kb) != 1 {
		return nil, fmt.Errorf("%s: want one key", keyFile)
	}
	if c.key, err = parsePrivateKey(kb[0]); err != nil {
		return nil, fmt.Errorf("%s: %v", keyFile, err)
	}
	if _, c.pss, err = leafPublicKey(c.chain[0]); err != nil {
		return nil, err
	}
	return c, nil
}

// leafPublicKey returns the certificate's public key and whether its SPKI is id-RSASSA-PSS
// (which x509.ParseCertificate leaves unparsed in Go 1.19; the key inside is RSAPublicKey).
func leafPublicKey(der []byte) (crypto.PublicKey, bool, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, false, err
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, false, err
	}
	if spki.Algorithm.Algorithm.Equal(oidRSASSAPSS) {
		pub, err := x509.ParsePKCS1PublicKey(spki.PublicKey.RightAlign())
		return pub, true, err
	}
	if cert.PublicKey == nil {
		return nil, false, fmt.Errorf("unsupported public key algorithm %v", spki.Algorithm.Algorithm)
	}
	return cert.PublicKey, false, nil
}

// ------------------------------------------------------------------------------------------
// Signature schemes allowed in an exported-authenticator CertificateVerify (RFC 9261 §5.2.2:
// TLS 1.3 schemes only, no PKCS#1 v1.5). ed448 (0x0808) is not in Go's standard library.

type schemeInfo struct {
	code  uint16
	name  string
	hash  crypto.Hash // 0 for EdDSA (signs the content itself)
	kind  string      // ecdsa | ed25519 | rsae | pss
	curve elliptic.Curve
}

var schemeTable = []schemeInfo{
	{0x0403, "ecdsa_secp256r1_sha256", crypto.SHA256, "ecdsa", elliptic.P256()},
	{0x0503, "ecdsa_secp384r1_sha384", crypto.SHA384, "ecdsa", elliptic.P384()},
	{0x0603, "ecdsa_secp521r1_sha512", crypto.SHA512, "ecdsa", elliptic.P521()},
	{0x0807, "ed25519", 0, "ed25519", nil},
	{0x0804, "rsa_pss_rsae_sha256", crypto.SHA256, "rsae", nil},
	{0x0805, "rsa_pss_rsae_sha384", crypto.SHA384, "rsae", nil},
	{0x0806, "rsa_pss_rsae_sha512", crypto.SHA512, "rsae", nil},
	{0x0809, "rsa_pss_pss_sha256", crypto.SHA256, "pss", nil},
	{0x080a, "rsa_pss_pss_sha384", crypto.SHA384, "pss", nil},
	{0x080b, "rsa_pss_pss_sha512", crypto.SHA512, "pss", nil},
}

func schemeByCode(code uint16) *schemeInfo {
	for i := range schemeTable {
		if schemeTable[i].code == code {
			return &schemeTable[i]
		}
	}
	return nil
}

func allSchemeCodes() []uint16 {
	var out []uint16
	for _, s := range schemeTable {
		out = append(out, s.code)
	}
	return out
}

// schemeFits: the key type (and curve; rsaEncryption vs RSASSA-PSS SPKI) matches the scheme.
func schemeFits(s *schemeInfo, pub crypto.PublicKey, pss bool) bool {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return s.kind == "ecdsa" && k.Curve.Params().Name == s.curve.Params().Name
	case ed25519.PublicKey:
		return s.kind == "ed25519"
	case *rsa.PublicKey:
		return (s.kind == "pss" && pss) || (s.kind == "rsae" && !pss)
	}
	return false
}

func digest(h crypto.Hash, content []byte) []byte {
	d := h.New()
	d.Write(content)
	return d.Sum(nil)
}

func signScheme(code uint16, key crypto.Signer, content []byte) ([]byte, error) {
	s := schemeByCode(code)
	if s == nil {
		return nil, fmt.Errorf("unknown scheme 0x%04x", code)
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		return ecdsa.SignASN1(rand.Reader, k, digest(s.hash, content))
	case ed25519.PrivateKey:
		return ed25519.Sign(k, content), nil
	case *rsa.PrivateKey:
		// RSASSA-PSS with MGF1 over the same hash and salt length = hash length (RFC 8446 §4.2.3).
		return rsa.SignPSS(rand.Reader, k, s.hash, digest(s.hash, content), &rsa.PSSOptions{SaltLength: s.hash.Size(), Hash: s.hash})
	}
	return nil, fmt.Errorf("key type %T not supported", key)
}

func verifyScheme(code uint16, pub crypto.PublicKey, pss bool, content, sig []byte) error {
	s := schemeByCode(code)
	if s == nil {
		return fmt.Errorf("scheme 0x%04x is not a TLS 1.3 scheme this peer knows", code)
	}
	if !schemeFits(s, pub, pss) {
		return fmt.Errorf("scheme %s does not match the leaf key", s.name)
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, digest(s.hash, content), sig) {
			return errors.New("ECDSA signature does not verify")
		}
	case ed25519.PublicKey:
		if !ed25519.Verify(k, content, sig) {
			return errors.New("Ed25519 signature does not verify")
		}
	case *rsa.PublicKey:
		if err := rsa.VerifyPSS(k, s.hash, digest(s.hash, content), sig, &rsa.PSSOptions{SaltLength: s.hash.Size(), Hash: s.hash}); err != nil {
			return fmt.Errorf("RSA-PSS signature does not verify: %v", err)
		}
	}
	return nil
}

// ------------------------------------------------------------------------------------------
// Selection (RFC 9261 §5.2.1).

// ekuOf returns the leaf's ExtendedKeyUsage OIDs and whether the extension is present.
func ekuOf(cert *x509.Certificate) ([]asn1.ObjectIdentifier, bool) {
	for _, e := range cert.Extensions {
		if e.Id.Equal(oidExtKeyUsage) {
			var list []asn1.ObjectIdentifier
			if _, err := asn1.Unmarshal(e.Value, &list); err != nil {
				return nil, true
			}
			return list, true
		}
	}
	return nil, false
}

// filterOID reads a filter's certificate_extension_oid, sent either as DER content octets or
// as a complete OBJECT IDENTIFIER TLV (RFC 8446 §4.2.5 says "DER-encoded"; both are seen).
func filterOID(b []byte) (asn1.ObjectIdentifier, bool) {
	var oid asn1.ObjectIdentifier
	if len(b) >= 2 && b[0] == 0x06 && int(b[1]) == len(b)-2 {
		if _, err := asn1.Unmarshal(b, &oid); err == nil {
			return oid, true
		}
	}
	tlv := append([]byte{0x06, byte(len(b))}, b...)
	if len(b) < 128 {
		if rest, err := asn1.Unmarshal(tlv, &oid); err == nil && len(rest) == 0 {
			return oid, true
		}
	}
	return nil, false
}

// matchesFilters applies oid_filters: for each filter this peer recognises (here only
// id-ce-extKeyUsage), the extension must be present and hold every listed value (§4.2.5).
func matchesFilters(cert *x509.Certificate, filters []oidFilter) (bool, string) {
	for _, f := range filters {
		oid, ok := filterOID(f.oid)
		if !ok || !oid.Equal(oidExtKeyUsage) {
			continue // unrecognised filters are ignored
		}
		have, present := ekuOf(cert)
		if !present {
			return false, "no extKeyUsage"
		}
		var want []asn1.ObjectIdentifier
		if len(f.values) > 0 {
			if rest, err := asn1.Unmarshal(f.values, &want); err != nil || len(rest) != 0 {
				return false, "unreadable extKeyUsage filter value"
			}
		}
		for _, w := range want {
			found := false
			for _, h := range have {
				if h.Equal(w) {
					found = true
				}
			}
			if !found {
				return false, fmt.Sprintf("extKeyUsage lacks %v", w)
			}
		}
	}
	return true, ""
}

// matchesCAs: some certificate of the chain is issued by, or is, one of the named authorities.
func matchesCAs(chain [][]byte, cas [][]byte) bool {
	if len(cas) == 0 {
		return true
	}
	for _, der := range chain {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			continue
		}
		for _, n := range cas {
			if bytes.Equal(c.RawIssuer, n) || bytes.Equal(c.RawSubject, n) {
				return true
			}
		}
	}
	return false
}

// chooseScheme: the first scheme in the requester's preference order that fits the key.
func chooseScheme(c *credential, offered []uint16) (uint16, bool) {
	for _, code := range offered {
		if s := schemeByCode(code); s != nil && schemeFits(s, c.key.Public(), c.pss) {
			return code, true
		}
	}
	return 0, false
}

// selectCredential picks a credential for a request, preferring ones not yet presented on this
// connection. Returns nil (decline) when nothing fits, with the reasons.
func selectCredential(creds []*credential, used map[*credential]bool, req *certRequest) (*credential, uint16, string) {
	var why []string
	var fallback *credential
	var fallbackScheme uint16
	for _, c := range creds {
		scheme, ok := chooseScheme(c, req.sigAlgs)
		if !ok {
			why = append(why, c.name+": no offered scheme fits its key")
			continue
		}
		if !matchesCAs(c.chain, req.cas) {
			why = append(why, c.name+": not under a requested CA")
			continue
		}
		if ok, reason := matchesFilters(c.leaf, req.oidFilters); !ok {
			why = append(why, c.name+": "+reason)
			continue
		}
		if !used[c] {
			return c, scheme, ""
		}
		if fallback == nil {
			fallback, fallbackScheme = c, scheme
		}
	}
	if fallback != nil {
		return fallback, fallbackScheme, ""
	}
	return nil, 0, fmt.Sprint(why)
}
