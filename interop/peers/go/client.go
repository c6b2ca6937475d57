// The secondary-certificate CLIENT (draft-rosomakho-httpbis-secondary-client-certs-00 and
// draft-ietf-httpbis-secondary-server-certs-02 over HTTP/2): advertises
// SETTINGS_HTTP_CLIENT_CERT_AUTH = number of credentials, answers AUTHENTICATOR_REQUESTS in order
// with CLIENT_CERTIFICATE frames (RFC 9261 authenticators or empty authenticators), validates
// spontaneous SERVER_CERTIFICATE frames, and checks what GET /whoami reports.
package main

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/net/http2"
)

type credSpec struct{ name, cert, key string }

// clientSetup says what the client holds and what the scenario expects of it.
type clientSetup struct {
	creds  []credSpec
	limit  uint32   // SETTINGS_HTTP_CLIENT_CERT_AUTH
	expect []string // credential name per request, or "declined"
	suite  uint16   // required negotiated cipher suite (0: any)
	scheme uint16   // required CertificateVerify scheme (0: any)
}

func pkiCred(pki, keyType, role, name string) credSpec {
	d := filepath.Join(pki, keyType)
	return credSpec{name, filepath.Join(d, role+".pem"), filepath.Join(d, role+"-key.pem")}
}

// eaClientSetup maps a scenario to a setup; ok=false when the Go client does not play it.
func eaClientSetup(scenario, pki string) (*clientSetup, string) {
	deviceUser := []credSpec{pkiCred(pki, "p256", "device", "device"), pkiCred(pki, "p256", "user", "user")}
	switch scenario {
	case "device-and-user", "provider-noble", "codepoint-mismatch-timeout", "server-certificate-second-origin":
		return &clientSetup{creds: deviceUser, limit: 2, expect: []string{"device", "user"}}, ""
	case "suite-sha256":
		return &clientSetup{creds: deviceUser, limit: 2, expect: []string{"device", "user"}, suite: tls.TLS_AES_128_GCM_SHA256}, ""
	case "suite-sha384":
		return &clientSetup{creds: deviceUser, limit: 2, expect: []string{"device", "user"}, suite: tls.TLS_AES_256_GCM_SHA384}, ""
	case "decline-one":
		return &clientSetup{creds: []credSpec{pkiCred(pki, "p256", "user", "user")}, limit: 2, expect: []string{"declined", "user"}}, ""
	case "select-by-ca-and-oid":
		return &clientSetup{creds: []credSpec{
			pkiCred(pki, "p384", "user", "B-user"),
			pkiCred(pki, "p256", "device", "A-device"),
			pkiCred(pki, "p256", "user", "A-user"),
			pkiCred(pki, "p384", "device", "B-device"),
		}, limit: 2, expect: []string{"B-device", "A-user"}}, ""
	case "oversized-authenticator":
		return &clientSetup{creds: []credSpec{{"user", filepath.Join(pki, "big-user.pem"), filepath.Join(pki, "big-user-key.pem")}}, limit: 1, expect: []string{"user"}}, ""
	}
	if strings.HasPrefix(scenario, "scheme-") {
		name := strings.TrimPrefix(scenario, "scheme-")
		if name == "ed448" {
			return nil, "Go's standard library has no Ed448"
		}
		for _, s := range schemeTable {
			if s.name == name {
				kt := map[string]string{"ecdsa": "", "ed25519": "ed25519", "rsae": "rsa", "pss": "rsa-pss"}[s.kind]
				if s.kind == "ecdsa" {
					kt = map[uint16]string{0x0403: "p256", 0x0503: "p384", 0x0603: "p521"}[s.code]
				}
				return &clientSetup{creds: []credSpec{pkiCred(pki, kt, "user", "user")}, limit: 1, expect: []string{"user"}, scheme: s.code}, ""
			}
		}
	}
	return nil, "go peer does not implement " + scenario
}

type answer struct {
	cred   *credential // nil: declined with the empty authenticator
	scheme uint16
	bytes  int
}

type eaClient struct {
	*h2conn
	setup       *clientSetup
	creds       []*credential
	used        map[*credential]bool
	ckeys       *eaKeys // client labels: our authenticators
	skeys       *eaKeys // server labels: SERVER_CERTIFICATE
	answers     []answer
	contexts    map[string]bool
	serverCerts []*x509.Certificate
	roots       *x509.CertPool
	serverAuth  bool // we advertised SETTINGS_HTTP_SERVER_CERT_AUTH = 1
	logf        func(string, ...interface{})
}

// goClientHelloSchemes: the TLS 1.3-valid entries of the signature_algorithms Go 1.19's
// ClientHello offers; a spontaneous server authenticator must use one of them (RFC 9261 §5.2.2).
var goClientHelloSchemes = []uint16{0x0804, 0x0403, 0x0807, 0x0805, 0x0806, 0x0503, 0x0603}

func dialEA(addr, caFile string, setup *clientSetup, serverAuth bool) (*eaClient, error) {
	cfg := tlsConfig(caFile)
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return nil, fmt.Errorf("dial: %v", err)
	}
	cs := conn.ConnectionState()
	if cs.NegotiatedProtocol != "h2" {
		return nil, fmt.Errorf("ALPN selected %q, want h2", cs.NegotiatedProtocol)
	}
	c := &eaClient{h2conn: newH2conn(conn), setup: setup, used: map[*credential]bool{}, contexts: map[string]bool{}, serverAuth: serverAuth, logf: func(f string, a ...interface{}) { fmt.Printf(f+"\n", a...) }}
	if c.ckeys, err = deriveKeys(cs, "client"); err != nil {
		return nil, err
	}
	if c.skeys, err = deriveKeys(cs, "server"); err != nil {
		return nil, err
	}
	c.roots = x509.NewCertPool()
	if pemBytes, err := readFileBytes(caFile); err == nil {
		c.roots.AppendCertsFromPEM(pemBytes)
	}
	for _, s := range setup.creds {
		cr, err := loadCredential(s.name, s.cert, s.key)
		if err != nil {
			return nil, err
		}
		c.creds = append(c.creds, cr)
	}
	c.onExtension = c.extension
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		return nil, err
	}
	settings := []http2.Setting{{ID: http2.SettingMaxFrameSize, Val: ourMaxFrameSize}, {ID: settingClientCertAuth, Val: setup.limit}}
	if serverAuth {
		settings = append(settings, http2.Setting{ID: settingServerCertAuth, Val: 1})
	}
	if err := c.fr.WriteSettings(settings...); err != nil {
		return nil, err
	}
	if err := c.until(func() bool { return c.gotSettings }, 5*time.Second, "server SETTINGS"); err != nil {
		return nil, err
	}
	c.logf("connected: %s, exporter L=%d, server SETTINGS_HTTP_CLIENT_CERT_AUTH=%d SETTINGS_HTTP_SERVER_CERT_AUTH=%d max_frame=%d",
		c.ckeys.suite, c.ckeys.size, c.peerSettings[settingClientCertAuth], c.peerSettings[settingServerCertAuth], c.peerMaxFrame)
	return c, nil
}

// violation sends GOAWAY and returns the error that ends the run.
func (c *eaClient) violation(code http2.ErrCode, format string, a ...interface{}) error {
	msg := fmt.Sprintf(format, a...)
	c.goAway(code, msg)
	return fmt.Errorf("peer violation (sent GOAWAY 0x%x): %s", uint32(code), msg)
}

func (c *eaClient) extension(f *http2.UnknownFrame) error {
	switch f.Type {
	case frameAuthRequests:
		return c.onRequests(f)
	case frameServerCertificate:
		return c.onServerCertificate(f)
	case frameClientCertificate:
		return c.violation(http2.ErrCodeProtocol, "CLIENT_CERTIFICATE sent by a server")
	}
	return nil // RFC 9113 §5.5: ignore unknown frame types
}

// onRequests answers each request of an AUTHENTICATOR_REQUESTS frame, in order (CLIENT §4.1).
func (c *eaClient) onRequests(f *http2.UnknownFrame) error {
	if f.StreamID != 0 {
		return c.violation(http2.ErrCodeProtocol, "AUTHENTICATOR_REQUESTS on stream %d", f.StreamID)
	}
	if c.setup.limit == 0 || c.peerSettings[settingClientCertAuth] == 0 {
		return c.violation(http2.ErrCodeProtocol, "AUTHENTICATOR_REQUESTS before both sides advertised support")
	}
	p := f.Payload()
	var raws [][]byte
	for off := 0; off < len(p); {
		n, used, err := readVarint(p[off:])
		if err != nil || uint64(len(p)-off-used) < n {
			return c.violation(http2.ErrCodeProtocol, "malformed AUTHENTICATOR_REQUESTS at offset %d", off)
		}
		raws = append(raws, p[off+used:off+used+int(n)])
		off += used + int(n)
	}
	if len(raws) == 0 {
		return c.violation(http2.ErrCodeProtocol, "empty AUTHENTICATOR_REQUESTS")
	}
	// Every earlier request was answered before this frame was read, so outstanding = this frame.
	if uint32(len(raws)) > c.setup.limit {
		return c.violation(http2.ErrCodeProtocol, "%d requests exceed SETTINGS_HTTP_CLIENT_CERT_AUTH=%d", len(raws), c.setup.limit)
	}
	var reqs []*certRequest
	for i, raw := range raws {
		req, err := parseRequest(raw, hsCertificateRequest)
		if err != nil {
			return c.violation(http2.ErrCodeProtocol, "request %d: %v", i, err)
		}
		if c.contexts[string(req.context)] {
			return c.violation(http2.ErrCodeProtocol, "request %d reuses a context", i)
		}
		c.contexts[string(req.context)] = true
		reqs = append(reqs, req)
	}
	for _, req := range reqs {
		if err := c.answer(req); err != nil {
			return err
		}
	}
	return nil
}

func (c *eaClient) answer(req *certRequest) error {
	cred, scheme, why := selectCredential(c.creds, c.used, req)
	var auth []byte
	if cred != nil {
		var err error
		if auth, err = authenticate(c.ckeys, req.raw, req.context, cred, scheme); err != nil {
			return err
		}
		if uint32(len(auth)) > c.peerMaxFrame {
			c.logf("authenticator of %d bytes does not fit the server's max frame size %d: declining", len(auth), c.peerMaxFrame)
			cred, auth = nil, nil
		}
	}
	if cred == nil {
		auth = emptyAuthenticator(c.ckeys, req.raw, req.context)
		c.logf("request ctx=%x.. schemes=%04x cas=%d filters=%d: declined (%s)", req.context[:min(4, len(req.context))], req.sigAlgs, len(req.cas), len(req.oidFilters), why)
	} else {
		c.used[cred] = true
		c.logf("request ctx=%x.. schemes=%04x cas=%d filters=%d: %s signs with %s (%d bytes)", req.context[:min(4, len(req.context))], req.sigAlgs, len(req.cas), len(req.oidFilters), cred.name, schemeByCode(scheme).name, len(auth))
	}
	c.answers = append(c.answers, answer{cred, scheme, len(auth)})
	return c.sendExtension(frameClientCertificate, auth)
}

// onServerCertificate validates a spontaneous server authenticator (SERVER -02 §3.2, §5.3;
// RFC 9261 §5.2.4 with the server labels and no request), then the chain.
func (c *eaClient) onServerCertificate(f *http2.UnknownFrame) error {
	if f.StreamID != 0 {
		return c.violation(http2.ErrCodeProtocol, "SERVER_CERTIFICATE on stream %d", f.StreamID)
	}
	if !c.serverAuth || c.peerSettings[settingServerCertAuth] == 0 {
		return c.violation(http2.ErrCodeProtocol, "SERVER_CERTIFICATE without SETTINGS_HTTP_SERVER_CERT_AUTH negotiated")
	}
	// Go's ClientHello offers status_request and signed_certificate_timestamp.
	v, err := validate(c.skeys, nil, f.Payload(), goClientHelloSchemes, map[uint16]bool{extStatusRequest: true, extSCT: true})
	if err != nil {
		return c.violation(errServerCertificateInvalid, "SERVER_CERTIFICATE invalid: %v", err)
	}
	if c.contexts[string(v.context)] {
		return c.violation(errServerCertificateInvalid, "SERVER_CERTIFICATE reuses a context (RFC 9261 §7.4)")
	}
	c.contexts[string(v.context)] = true
	leaf, err := x509.ParseCertificate(v.chain[0])
	if err != nil {
		return c.violation(errServerCertificateInvalid, "leaf: %v", err)
	}
	inter := x509.NewCertPool()
	for _, der := range v.chain[1:] {
		if ic, err := x509.ParseCertificate(der); err == nil {
			inter.AddCert(ic)
		}
	}
	// Certificate policy failures are not protocol errors (SERVER §6.2): just don't use it.
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: c.roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		c.logf("SERVER_CERTIFICATE validated but its chain is not acceptable: %v", err)
		return nil
	}
	c.logf("SERVER_CERTIFICATE valid: %s, scheme %s, SAN %v", leaf.Subject, schemeByCode(v.scheme).name, leaf.DNSNames)
	c.serverCerts = append(c.serverCerts, leaf)
	return nil
}

func (c *eaClient) coversOrigin(host string) bool {
	for _, l := range c.serverCerts {
		if l.VerifyHostname(host) == nil {
			return true
		}
	}
	return false
}

type whoamiEntry struct {
	Label   string `json:"label"`
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	Sha256  string `json:"sha256"`
	Scheme  uint16 `json:"scheme"`
}

func runEAClient(addr, caFile, scenario, pki string) {
	setup, why := eaClientSetup(scenario, pki)
	if setup == nil {
		fmt.Printf("skip: %s\n", why)
		exit(127)
	}
	if scenario == "server-certificate-second-origin" {
		runSecondOrigin(addr, caFile, setup)
	}
	c, err := dialEA(addr, caFile, setup, false)
	if err != nil {
		fail("%v", err)
	}
	defer c.conn.Close()
	if setup.suite != 0 && c.conn.(*tls.Conn).ConnectionState().CipherSuite != setup.suite {
		fail("negotiated %s, scenario needs %s", c.ckeys.suite, tls.CipherSuiteName(setup.suite))
	}
	if err := c.get(1, "localhost", "/whoami"); err != nil {
		fail("request: %v", err)
	}
	st := c.stream(1)
	if err := c.until(func() bool { return st.done }, 12*time.Second, "response to /whoami"); err != nil {
		fail("%v", err)
	}
	body := strings.TrimSpace(st.body.String())
	if scenario == "codepoint-mismatch-timeout" {
		ok := st.status == "504" && strings.Contains(body, "ERR_SC_TIMEOUT") && len(c.answers) == 0
		verdict(ok, "status %s %s, requests seen %d", st.status, body, len(c.answers))
	}
	if st.status != "200" {
		fail("status %s body %s", st.status, body)
	}
	var got []whoamiEntry
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		fail("whoami body %q: %v", body, err)
	}
	var problems, seen []string
	if len(got) != len(c.answers) {
		problems = append(problems, fmt.Sprintf("server lists %d outcomes, we answered %d requests", len(got), len(c.answers)))
	}
	for i := 0; i < len(got) && i < len(c.answers); i++ {
		a, g := c.answers[i], got[i]
		name := "declined"
		if a.cred != nil {
			name = a.cred.name
		}
		seen = append(seen, fmt.Sprintf("%s:%s", g.Label, g.Kind))
		if i < len(setup.expect) && setup.expect[i] != name {
			problems = append(problems, fmt.Sprintf("request %d answered with %s, scenario expects %s", i, name, setup.expect[i]))
		}
		if a.cred == nil {
			if g.Kind != "declined" {
				problems = append(problems, fmt.Sprintf("request %d: we declined, server says %s", i, g.Kind))
			}
			continue
		}
		sum := sha256.Sum256(a.cred.chain[0])
		if g.Kind != "identity" || g.Sha256 != hex.EncodeToString(sum[:]) || g.Scheme != a.scheme {
			problems = append(problems, fmt.Sprintf("request %d: sent %s (%s), server says %s %.12s scheme 0x%04x", i, name, schemeByCode(a.scheme).name, g.Kind, g.Sha256, g.Scheme))
		}
		if setup.scheme != 0 && a.scheme != setup.scheme {
			problems = append(problems, fmt.Sprintf("signed with 0x%04x, scenario needs 0x%04x", a.scheme, setup.scheme))
		}
	}
	if len(c.answers) < len(setup.expect) {
		problems = append(problems, fmt.Sprintf("answered %d requests, expected %d", len(c.answers), len(setup.expect)))
	}
	c.fr.WriteGoAway(1, http2.ErrCodeNo, nil)
	if len(problems) > 0 {
		fail("%s", strings.Join(problems, "; "))
	}
	verdict(true, "status 200 on %s, server saw %s", c.ckeys.suite, strings.Join(seen, ","))
}

// runSecondOrigin: a SERVER_CERTIFICATE for other.localhost arrives, validates, and a request
// with :authority other.localhost is then served on the same connection (SERVER -02 §3.2).
func runSecondOrigin(addr, caFile string, setup *clientSetup) {
	c, err := dialEA(addr, caFile, setup, true)
	if err != nil {
		fail("%v", err)
	}
	defer c.conn.Close()
	if err := c.get(1, "localhost", "/"); err != nil {
		fail("request: %v", err)
	}
	if err := c.until(func() bool { return c.stream(1).done && c.coversOrigin("other.localhost") }, 5*time.Second, "a valid SERVER_CERTIFICATE for other.localhost"); err != nil {
		fail("%v", err)
	}
	if err := c.get(3, "other.localhost", "/"); err != nil {
		fail("request: %v", err)
	}
	st := c.stream(3)
	if err := c.until(func() bool { return st.done }, 5*time.Second, "response for other.localhost"); err != nil {
		fail("%v", err)
	}
	body := strings.TrimSpace(st.body.String())
	c.fr.WriteGoAway(3, http2.ErrCodeNo, nil)
	verdict(st.status == "200" && strings.HasPrefix(body, "hello other.localhost"), "second origin answered %s %s", st.status, body)
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}
