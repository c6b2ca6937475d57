// RFC 9261 exported authenticators, written for the interop peer from the RFC text and the
// project digest (shared/spec/rfc9261-exported-authenticators.md) without looking at the
// TypeScript library, so that interop against it is evidence from independent code.
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"errors"
	"fmt"
	"hash"
)

// TLS handshake message types (RFC 8446 §4; RFC 9261 §4, §8.3).
const (
	hsCertificate              = 11
	hsCertificateRequest       = 13
	hsCertificateVerify        = 15
	hsClientCertificateRequest = 17
	hsFinished                 = 20
)

// Extensions a CertificateRequest may carry that the peer interprets (RFC 8446 §4.2).
const (
	extStatusRequest           = 0x0005
	extSignatureAlgorithms     = 0x000d
	extSCT                     = 0x0012
	extCertificateAuthorities  = 0x002f
	extOIDFilters              = 0x0030
	extSignatureAlgorithmsCert = 0x0032
)

// RFC 9261 §5.1: the creator's role picks the labels.
const (
	labelClientHC = "EXPORTER-client authenticator handshake context"
	labelServerHC = "EXPORTER-server authenticator handshake context"
	labelClientFK = "EXPORTER-client authenticator finished key"
	labelServerFK = "EXPORTER-server authenticator finished key"
)

// eaKeys are the two exported secrets of one direction and the authenticator hash.
type eaKeys struct {
	newHash func() hash.Hash
	size    int // L
	hc, fk  []byte
	suite   string
}

// deriveKeys exports the Handshake Context and Finished MAC Key for authenticators created by
// `creator` ("client" or "server"), with an empty context and the suite's hash length
// (RFC 9261 §5.1; RFC 8446 §7.5). TLS 1.3 only: TLS 1.2 would need EMS, which we cannot see.
func deriveKeys(cs tls.ConnectionState, creator string) (*eaKeys, error) {
	if cs.Version != tls.VersionTLS13 {
		return nil, fmt.Errorf("exported authenticators need TLS 1.3 here (got 0x%04x)", cs.Version)
	}
	k := &eaKeys{suite: tls.CipherSuiteName(cs.CipherSuite)}
	switch cs.CipherSuite {
	case tls.TLS_AES_256_GCM_SHA384:
		k.newHash, k.size = sha512.New384, 48
	case tls.TLS_AES_128_GCM_SHA256, tls.TLS_CHACHA20_POLY1305_SHA256:
		k.newHash, k.size = sha256.New, 32
	default:
		return nil, fmt.Errorf("cipher suite 0x%04x has no known hash", cs.CipherSuite)
	}
	hcLabel, fkLabel := labelClientHC, labelClientFK
	if creator == "server" {
		hcLabel, fkLabel = labelServerHC, labelServerFK
	}
	var err error
	if k.hc, err = cs.ExportKeyingMaterial(hcLabel, []byte{}, k.size); err != nil {
		return nil, err
	}
	if k.fk, err = cs.ExportKeyingMaterial(fkLabel, []byte{}, k.size); err != nil {
		return nil, err
	}
	return k, nil
}

// transcript returns H(HC || parts...).
func (k *eaKeys) transcript(parts ...[]byte) []byte {
	h := k.newHash()
	h.Write(k.hc)
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// finishedMAC returns HMAC(FK, H(HC || parts...)) (RFC 9261 §5.2.3).
func (k *eaKeys) finishedMAC(parts ...[]byte) []byte {
	m := hmac.New(k.newHash, k.fk)
	m.Write(k.transcript(parts...))
	return m.Sum(nil)
}

// signedContent is what CertificateVerify signs (RFC 9261 §5.2.2, framing of RFC 8446 §4.4.3):
// 64 spaces, "Exported Authenticator", a zero byte, then the transcript hash.
func signedContent(transcriptHash []byte) []byte {
	out := bytes.Repeat([]byte{0x20}, 64)
	out = append(out, "Exported Authenticator"...)
	out = append(out, 0)
	return append(out, transcriptHash...)
}

// ------------------------------------------------------------------------------------------
// Byte helpers (TLS presentation language vectors, RFC 8446 §3).

type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("truncated %s at offset %d", what, r.off)
	}
}

func (r *reader) take(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || r.off+n > len(r.b) {
		r.fail(what)
		return nil
	}
	v := r.b[r.off : r.off+n]
	r.off += n
	return v
}

func (r *reader) uint(n int, what string) int {
	v := 0
	for _, c := range r.take(n, what) {
		v = v<<8 | int(c)
	}
	return v
}

func (r *reader) vec(lenBytes int, what string) []byte {
	n := r.uint(lenBytes, what+" length")
	return r.take(n, what)
}

func (r *reader) done() bool { return r.err == nil && r.off == len(r.b) }

func putUint(out []byte, v, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		out = append(out, byte(v>>(8*uint(i))))
	}
	return out
}

func putVec(out []byte, lenBytes int, v []byte) []byte {
	return append(putUint(out, len(v), lenBytes), v...)
}

// handshake frames a body as a TLS handshake message: type(1) || uint24 length || body.
func handshake(typ byte, body []byte) []byte {
	return putVec([]byte{typ}, 3, body)
}

type hsMessage struct {
	typ  byte
	raw  []byte // header included
	body []byte
}

// splitHandshake splits concatenated handshake messages; every length must fit exactly.
func splitHandshake(b []byte) ([]hsMessage, error) {
	var out []hsMessage
	for off := 0; off < len(b); {
		if len(b)-off < 4 {
			return nil, errors.New("truncated handshake header")
		}
		n := int(b[off+1])<<16 | int(b[off+2])<<8 | int(b[off+3])
		if off+4+n > len(b) {
			return nil, fmt.Errorf("handshake message type %d length %d runs past the end", b[off], n)
		}
		out = append(out, hsMessage{typ: b[off], raw: b[off : off+4+n], body: b[off+4 : off+4+n]})
		off += 4 + n
	}
	return out, nil
}

// parseExtensions reads `Extension extensions<..2^16-1>` content; duplicates are an error.
func parseExtensions(b []byte) (map[uint16][]byte, []uint16, error) {
	r := &reader{b: b}
	m := map[uint16][]byte{}
	var order []uint16
	for r.err == nil && r.off < len(b) {
		t := uint16(r.uint(2, "extension type"))
		d := r.vec(2, "extension data")
		if r.err != nil {
			break
		}
		if _, dup := m[t]; dup {
			return nil, nil, fmt.Errorf("duplicate extension 0x%04x", t)
		}
		m[t] = d
		order = append(order, t)
	}
	if r.err != nil {
		return nil, nil, r.err
	}
	return m, order, nil
}

// ------------------------------------------------------------------------------------------
// Requests (RFC 9261 §4).

type oidFilter struct {
	oid    []byte // as sent (content octets, or with tag+length)
	values []byte
}

type certRequest struct {
	raw         []byte
	typ         byte
	context     []byte
	sigAlgs     []uint16
	sigAlgsCert []uint16
	cas         [][]byte // DER Names
	oidFilters  []oidFilter
	extTypes    map[uint16]bool
}

func parseSchemeList(d []byte) ([]uint16, error) {
	r := &reader{b: d}
	list := r.vec(2, "scheme list")
	if !r.done() || len(list)%2 != 0 || len(list) == 0 {
		return nil, errors.New("bad signature scheme list")
	}
	var out []uint16
	for i := 0; i < len(list); i += 2 {
		out = append(out, uint16(list[i])<<8|uint16(list[i+1]))
	}
	return out, nil
}

// parseRequest parses one complete CertificateRequest / ClientCertificateRequest message.
func parseRequest(raw []byte, wantType byte) (*certRequest, error) {
	msgs, err := splitHandshake(raw)
	if err != nil {
		return nil, err
	}
	if len(msgs) != 1 {
		return nil, fmt.Errorf("request holds %d handshake messages", len(msgs))
	}
	if msgs[0].typ != wantType {
		return nil, fmt.Errorf("request handshake type %d, want %d", msgs[0].typ, wantType)
	}
	r := &reader{b: msgs[0].body}
	req := &certRequest{raw: raw, typ: msgs[0].typ, extTypes: map[uint16]bool{}}
	req.context = r.vec(1, "certificate_request_context")
	extBytes := r.vec(2, "extensions")
	if !r.done() {
		if r.err != nil {
			return nil, r.err
		}
		return nil, errors.New("trailing bytes after request extensions")
	}
	exts, order, err := parseExtensions(extBytes)
	if err != nil {
		return nil, err
	}
	for _, t := range order {
		req.extTypes[t] = true
	}
	sa, ok := exts[extSignatureAlgorithms]
	if !ok {
		return nil, errors.New("request without signature_algorithms")
	}
	if req.sigAlgs, err = parseSchemeList(sa); err != nil {
		return nil, err
	}
	if d, ok := exts[extSignatureAlgorithmsCert]; ok {
		if req.sigAlgsCert, err = parseSchemeList(d); err != nil {
			return nil, err
		}
	}
	if d, ok := exts[extCertificateAuthorities]; ok {
		r := &reader{b: d}
		list := r.vec(2, "certificate_authorities")
		if !r.done() {
			return nil, errors.New("bad certificate_authorities")
		}
		lr := &reader{b: list}
		for lr.err == nil && lr.off < len(list) {
			n := lr.vec(2, "DistinguishedName")
			if lr.err == nil && len(n) == 0 {
				return nil, errors.New("empty DistinguishedName")
			}
			req.cas = append(req.cas, n)
		}
		if lr.err != nil {
			return nil, lr.err
		}
	}
	if d, ok := exts[extOIDFilters]; ok {
		r := &reader{b: d}
		list := r.vec(2, "oid_filters")
		if !r.done() {
			return nil, errors.New("bad oid_filters")
		}
		lr := &reader{b: list}
		for lr.err == nil && lr.off < len(list) {
			f := oidFilter{oid: lr.vec(1, "filter oid"), values: lr.vec(2, "filter values")}
			if lr.err == nil && len(f.oid) == 0 {
				return nil, errors.New("empty filter oid")
			}
			req.oidFilters = append(req.oidFilters, f)
		}
		if lr.err != nil {
			return nil, lr.err
		}
	}
	return req, nil
}

// buildRequest makes a CertificateRequest (type 13) with signature_algorithms and, when given,
// certificate_authorities and oid_filters (RFC 9261 §4; RFC 8446 §4.2.3-§4.2.5).
func buildRequest(typ byte, context []byte, sigAlgs []uint16, cas [][]byte, filters []oidFilter) []byte {
	var exts []byte
	var list []byte
	for _, s := range sigAlgs {
		list = putUint(list, int(s), 2)
	}
	exts = putUint(exts, extSignatureAlgorithms, 2)
	exts = putVec(exts, 2, putVec(nil, 2, list))
	if len(cas) > 0 {
		var names []byte
		for _, n := range cas {
			names = putVec(names, 2, n)
		}
		exts = putUint(exts, extCertificateAuthorities, 2)
		exts = putVec(exts, 2, putVec(nil, 2, names))
	}
	if len(filters) > 0 {
		var fl []byte
		for _, f := range filters {
			fl = putVec(fl, 1, f.oid)
			fl = putVec(fl, 2, f.values)
		}
		exts = putUint(exts, extOIDFilters, 2)
		exts = putVec(exts, 2, putVec(nil, 2, fl))
	}
	body := putVec(nil, 1, context)
	body = putVec(body, 2, exts)
	return handshake(typ, body)
}

// ------------------------------------------------------------------------------------------
// Authenticators (RFC 9261 §5.2, §6).

// certificateMessage builds Certificate (RFC 8446 §4.4.2) with empty entry extensions.
func certificateMessage(context []byte, chain [][]byte) []byte {
	var list []byte
	for _, der := range chain {
		list = putVec(list, 3, der)
		list = append(list, 0, 0)
	}
	body := putVec(nil, 1, context)
	body = putVec(body, 3, list)
	return handshake(hsCertificate, body)
}

// authenticate builds Certificate || CertificateVerify || Finished. `request` is the complete
// request message as received, or nil for a spontaneous server authenticator.
func authenticate(k *eaKeys, request, context []byte, cred *credential, scheme uint16) ([]byte, error) {
	cert := certificateMessage(context, cred.chain)
	sig, err := signScheme(scheme, cred.key, signedContent(k.transcript(request, cert)))
	if err != nil {
		return nil, err
	}
	cv := handshake(hsCertificateVerify, putVec(putUint(nil, int(scheme), 2), 2, sig))
	fin := handshake(hsFinished, k.finishedMAC(request, cert, cv))
	out := append(append(cert, cv...), fin...)
	return out, nil
}

// emptyAuthenticator is the Finished-only refusal (RFC 9261 §6): the MAC covers a Certificate
// with the request's context and no entries, which is not transmitted.
func emptyAuthenticator(k *eaKeys, request, context []byte) []byte {
	certPrime := certificateMessage(context, nil)
	return handshake(hsFinished, k.finishedMAC(request, certPrime))
}

// validated is the result of a successful validation.
type validated struct {
	empty   bool
	context []byte
	chain   [][]byte
	scheme  uint16
}

// validate checks an authenticator (RFC 9261 §5.2.4, §7.4; digest §9 items 4-11). `request` is
// nil for a spontaneous authenticator, in which case `context` is ignored and the caller checks
// uniqueness of the returned context. allowedSchemes: the request's signature_algorithms (or our
// ClientHello list). allowedEntryExts: extension types an entry may carry.
func validate(k *eaKeys, request *certRequest, auth []byte, allowedSchemes []uint16, allowedEntryExts map[uint16]bool) (*validated, error) {
	msgs, err := splitHandshake(auth)
	if err != nil {
		return nil, err
	}
	var reqRaw []byte
	if request != nil {
		reqRaw = request.raw
	}
	if len(msgs) == 1 && msgs[0].typ == hsFinished {
		if request == nil {
			return nil, errors.New("empty authenticator without a request")
		}
		want := emptyAuthenticator(k, reqRaw, request.context)
		if !hmac.Equal(want, auth) {
			return nil, errors.New("empty authenticator: Finished MAC mismatch")
		}
		return &validated{empty: true, context: request.context}, nil
	}
	if len(msgs) != 3 || msgs[0].typ != hsCertificate || msgs[1].typ != hsCertificateVerify || msgs[2].typ != hsFinished {
		types := []byte{}
		for _, m := range msgs {
			types = append(types, m.typ)
		}
		return nil, fmt.Errorf("authenticator message types %v, want [11 15 20] or [20]", types)
	}
	// Certificate.
	r := &reader{b: msgs[0].body}
	v := &validated{context: append([]byte(nil), r.vec(1, "certificate_request_context")...)}
	list := r.vec(3, "certificate_list")
	if !r.done() {
		return nil, errors.New("malformed Certificate")
	}
	lr := &reader{b: list}
	for lr.err == nil && lr.off < len(list) {
		der := lr.vec(3, "cert_data")
		ext := lr.vec(2, "entry extensions")
		if lr.err != nil {
			break
		}
		if len(der) == 0 {
			return nil, errors.New("empty cert_data")
		}
		_, types, err := parseExtensions(ext)
		if err != nil {
			return nil, err
		}
		for _, t := range types {
			if !allowedEntryExts[t] {
				return nil, fmt.Errorf("entry extension 0x%04x was not offered", t)
			}
		}
		v.chain = append(v.chain, der)
	}
	if lr.err != nil {
		return nil, lr.err
	}
	if len(v.chain) == 0 {
		return nil, errors.New("Certificate with no entries in a full authenticator")
	}
	if request != nil && !bytes.Equal(v.context, request.context) {
		return nil, errors.New("context differs from the request's")
	}
	// CertificateVerify.
	cr := &reader{b: msgs[1].body}
	v.scheme = uint16(cr.uint(2, "algorithm"))
	sig := cr.vec(2, "signature")
	if !cr.done() {
		return nil, errors.New("malformed CertificateVerify")
	}
	if !containsScheme(allowedSchemes, v.scheme) {
		return nil, fmt.Errorf("scheme 0x%04x not offered", v.scheme)
	}
	pub, pss, err := leafPublicKey(v.chain[0])
	if err != nil {
		return nil, err
	}
	if err := verifyScheme(v.scheme, pub, pss, signedContent(k.transcript(reqRaw, msgs[0].raw)), sig); err != nil {
		return nil, err
	}
	// Finished.
	if !hmac.Equal(msgs[2].body, k.finishedMAC(reqRaw, msgs[0].raw, msgs[1].raw)) {
		return nil, errors.New("Finished MAC mismatch")
	}
	return v, nil
}

func containsScheme(list []uint16, s uint16) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// QUIC variable-length integers (RFC 9000 §16).
func readVarint(b []byte) (uint64, int, error) {
	if len(b) == 0 {
		return 0, 0, errors.New("truncated varint")
	}
	n := 1 << (b[0] >> 6)
	if len(b) < n {
		return 0, 0, errors.New("truncated varint")
	}
	v := uint64(b[0] & 0x3f)
	for i := 1; i < n; i++ {
		v = v<<8 | uint64(b[i])
	}
	return v, n, nil
}

func putVarint(out []byte, v uint64) []byte {
	switch {
	case v < 1<<6:
		return append(out, byte(v))
	case v < 1<<14:
		return append(out, byte(v>>8)|0x40, byte(v))
	case v < 1<<30:
		return append(out, byte(v>>24)|0x80, byte(v>>16), byte(v>>8), byte(v))
	default:
		return append(out, byte(v>>56)|0xc0, byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
}
