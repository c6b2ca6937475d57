// The secondary-certificate SERVER endpoint: on GET /whoami it sends AUTHENTICATOR_REQUESTS
// (CLIENT -00 §4.1: CertificateRequest messages, type 13 per RFC 9261 §4) asking for the
// scenario's identities, validates each CLIENT_CERTIFICATE against the head of its FIFO with the
// client labels (RFC 9261 §5.2.4), path-validates the chain with crypto/x509, and answers JSON
// like our server does. Prints "listening <port>" and one "result pass|fail <detail>".
package main

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// wanted is one identity the server asks for.
type wanted struct {
	label   string
	caDir   string                // PKI whose root goes into certificate_authorities
	purpose x509.ExtKeyUsage      // EKU asked for through oid_filters and checked on the chain
	eku     asn1.ObjectIdentifier // the same purpose as an OID
	schemes []uint16
	expect  string // "identity" | "declined"
	leaf    string // PEM file whose leaf must be presented ("" = any valid one)
}

// Every TLS 1.3 scheme this peer can verify (ed448 is missing from Go's standard library).
var serverSchemes = []uint16{0x0403, 0x0503, 0x0603, 0x0807, 0x0804, 0x0805, 0x0806, 0x0809, 0x080a, 0x080b}

func serverSetup(scenario, pki string) ([]wanted, string) {
	device := func(kt string) wanted {
		return wanted{"device", filepath.Join(pki, kt), x509.ExtKeyUsageServerAuth, oidServerAuth, serverSchemes, "identity", filepath.Join(pki, kt, "device.pem")}
	}
	user := func(kt string) wanted {
		return wanted{"user", filepath.Join(pki, kt), x509.ExtKeyUsageClientAuth, oidClientAuth, serverSchemes, "identity", filepath.Join(pki, kt, "user.pem")}
	}
	switch scenario {
	case "device-and-user":
		return []wanted{device("p256"), user("p256")}, ""
	case "decline-one":
		d := device("p256")
		d.expect, d.leaf = "declined", ""
		return []wanted{d, user("p256")}, ""
	case "select-by-ca-and-oid":
		return []wanted{device("p384"), user("p256")}, ""
	}
	if strings.HasPrefix(scenario, "scheme-") {
		name := strings.TrimPrefix(scenario, "scheme-")
		if name == "ed448" {
			return nil, "Go's standard library has no Ed448 verifier"
		}
		for _, s := range schemeTable {
			if s.name == name {
				kt := map[uint16]string{0x0403: "p256", 0x0503: "p384", 0x0603: "p521", 0x0807: "ed25519"}[s.code]
				if kt == "" {
					kt = map[string]string{"rsae": "rsa", "pss": "rsa-pss"}[s.kind]
				}
				// Like our server: only signature_algorithms, no CA or EKU filter.
				return []wanted{{"user", "", x509.ExtKeyUsageClientAuth, nil, []uint16{s.code}, "identity", filepath.Join(pki, kt, "user.pem")}}, ""
			}
		}
	}
	return nil, "go server does not implement " + scenario
}

var resultOnce sync.Once

func serverResult(ok bool, format string, a ...interface{}) {
	resultOnce.Do(func() {
		word := "fail"
		if ok {
			word = "pass"
		}
		fmt.Printf("result %s "+format+"\n", append([]interface{}{word}, a...)...)
	})
}

func runServer(scenario, pki string) {
	want, why := serverSetup(scenario, pki)
	if want == nil {
		fmt.Printf("skip: %s\n", why)
		exit(127)
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(pki, "p256", "server.pem"), filepath.Join(pki, "p256", "server-key.pem"))
	if err != nil {
		fmt.Printf("server certificate: %v\n", err)
		exit(1)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, NextProtos: []string{"h2"}, Certificates: []tls.Certificate{cert}}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		fmt.Printf("listen: %v\n", err)
		exit(1)
	}
	fmt.Printf("listening %d\n", ln.Addr().(*net.TCPAddr).Port)
	for {
		c, err := ln.Accept()
		if err != nil {
			exit(1)
		}
		go func() {
			defer c.Close()
			if err := serveConn(c.(*tls.Conn), want); err != nil {
				fmt.Printf("connection: %v\n", err)
			}
		}()
	}
}

type outcome struct {
	Label   string `json:"label"`
	Kind    string `json:"kind"`
	Subject string `json:"subject,omitempty"`
	Sha256  string `json:"sha256,omitempty"`
	Scheme  uint16 `json:"scheme,omitempty"`
}

type pending struct {
	req  *certRequest
	want wanted
}

func serveConn(conn *tls.Conn, want []wanted) error {
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	if err := conn.Handshake(); err != nil {
		return err
	}
	cs := conn.ConnectionState()
	if cs.NegotiatedProtocol != "h2" {
		return fmt.Errorf("ALPN %q", cs.NegotiatedProtocol)
	}
	keys, err := deriveKeys(cs, "client") // the client creates these authenticators (RFC 9261 §5.1)
	if err != nil {
		return err
	}
	preface := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(conn, preface); err != nil || string(preface) != http2.ClientPreface {
		return fmt.Errorf("bad client preface")
	}
	h := newH2conn(conn)
	if err := h.fr.WriteSettings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: ourMaxFrameSize}, http2.Setting{ID: settingClientCertAuth, Val: 1}); err != nil {
		return err
	}
	var fifo []pending
	var outcomes []outcome
	var problems []string
	contexts := map[string]bool{}
	whoami := uint32(0)
	asked := false

	finish := func() error {
		ok := len(problems) == 0
		var parts []string
		for _, o := range outcomes {
			parts = append(parts, o.Label+":"+o.Kind)
		}
		serverResult(ok, "%s on %s%s", strings.Join(parts, ","), keys.suite, map[bool]string{true: "", false: " — " + strings.Join(problems, "; ")}[ok])
		body, _ := json.Marshal(outcomes)
		return h.respond(whoami, "200", "application/json", append(body, '\n'))
	}
	ask := func() error {
		asked = true
		var payload []byte
		for _, w := range want {
			ctx := make([]byte, 32) // RFC 9261 §4: unique, unpredictable
			rand.Read(ctx)
			var cas [][]byte
			if w.caDir != "" {
				blocks, err := readPEM(filepath.Join(w.caDir, "ca.pem"))
				if err != nil || len(blocks) == 0 {
					return fmt.Errorf("CA of %s: %v", w.label, err)
				}
				root, err := x509.ParseCertificate(blocks[0].Bytes)
				if err != nil {
					return err
				}
				cas = [][]byte{root.RawSubject}
			}
			var filters []oidFilter
			if w.eku != nil {
				values, _ := asn1.Marshal([]asn1.ObjectIdentifier{w.eku})
				// certificate_extension_oid as DER content octets of id-ce-extKeyUsage (2.5.29.37).
				filters = []oidFilter{{oid: []byte{0x55, 0x1d, 0x25}, values: values}}
			}
			raw := buildRequest(hsCertificateRequest, ctx, w.schemes, cas, filters)
			contexts[string(ctx)] = true
			fifo = append(fifo, pending{&certRequest{raw: raw, context: ctx}, w})
			payload = append(putVarint(payload, uint64(len(raw))), raw...)
		}
		return h.sendExtension(frameAuthRequests, payload)
	}
	maybeAsk := func() error {
		if whoami != 0 && !asked && h.peerSettings[settingClientCertAuth] >= uint32(len(want)) {
			return ask()
		}
		if whoami != 0 && !asked && h.gotSettings {
			serverResult(false, "client advertised SETTINGS_HTTP_CLIENT_CERT_AUTH=%d, need %d", h.peerSettings[settingClientCertAuth], len(want))
			return h.respond(whoami, "428", "text/plain", []byte("client cannot present enough credentials\n"))
		}
		return nil
	}
	h.onHeaders = func(id uint32, fields []hpack.HeaderField, endStream bool) error {
		path := ""
		for _, f := range fields {
			if f.Name == ":path" {
				path = f.Value
			}
		}
		if path != "/whoami" || whoami != 0 {
			return h.respond(id, "404", "text/plain", []byte("not here\n"))
		}
		whoami = id
		return maybeAsk()
	}
	h.onExtension = func(f *http2.UnknownFrame) error {
		switch f.Type {
		case frameAuthRequests, frameServerCertificate:
			h.goAway(http2.ErrCodeProtocol, "frame type not allowed from a client")
			return fmt.Errorf("client sent frame type 0x%x", f.Type)
		case frameClientCertificate:
		default:
			return nil
		}
		if f.StreamID != 0 || len(fifo) == 0 {
			h.goAway(http2.ErrCodeProtocol, "CLIENT_CERTIFICATE on a stream or unsolicited")
			return fmt.Errorf("bad CLIENT_CERTIFICATE (stream %d, outstanding %d)", f.StreamID, len(fifo))
		}
		p := fifo[0]
		fifo = fifo[1:]
		// Reparse our own request so validate sees its signature_algorithms etc.
		req, err := parseRequest(p.req.raw, hsCertificateRequest)
		if err != nil {
			return err
		}
		v, err := validate(keys, req, f.Payload(), req.sigAlgs, map[uint16]bool{})
		if err != nil {
			serverResult(false, "%s: client authenticator invalid: %v", p.want.label, err)
			h.goAway(http2.ErrCodeProtocol, "client authenticator invalid")
			return err
		}
		o := outcome{Label: p.want.label, Kind: "declined"}
		if !v.empty {
			leaf, err := x509.ParseCertificate(v.chain[0])
			if err != nil {
				return err
			}
			sum := sha256.Sum256(v.chain[0])
			o = outcome{Label: p.want.label, Kind: "identity", Subject: leaf.Subject.String(), Sha256: hex.EncodeToString(sum[:]), Scheme: v.scheme}
			if err := verifyChain(v.chain, p.want); err != nil {
				problems = append(problems, fmt.Sprintf("%s: chain: %v", p.want.label, err))
			}
			if p.want.leaf != "" {
				if blocks, err := readPEM(p.want.leaf); err != nil || len(blocks) == 0 || string(blocks[0].Bytes) != string(v.chain[0]) {
					problems = append(problems, fmt.Sprintf("%s: presented %s, not the expected leaf", p.want.label, leaf.Subject))
				}
			}
		}
		if o.Kind != p.want.expect {
			problems = append(problems, fmt.Sprintf("%s: %s, expected %s", p.want.label, o.Kind, p.want.expect))
		}
		outcomes = append(outcomes, o)
		if len(fifo) == 0 {
			return finish()
		}
		return nil
	}
	for {
		if err := h.step(); err != nil {
			if err == io.EOF || h.goaway != nil {
				return nil
			}
			if whoami != 0 && len(outcomes) < len(want) {
				serverResult(false, "connection ended before all answers: %v", err)
			}
			return err
		}
		if err := maybeAsk(); err != nil {
			return err
		}
	}
}

// verifyChain: RFC 5280 path validation to the requested root with the requested EKU.
func verifyChain(chain [][]byte, w wanted) error {
	caDir := w.caDir
	if caDir == "" {
		caDir = filepath.Dir(w.leaf)
	}
	roots := x509.NewCertPool()
	pemBytes, err := os.ReadFile(filepath.Join(caDir, "ca.pem"))
	if err != nil {
		return err
	}
	roots.AppendCertsFromPEM(pemBytes)
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return err
	}
	if _, pss, _ := leafPublicKey(chain[0]); pss {
		// crypto/x509 in Go 1.19 cannot build paths through id-RSASSA-PSS keys; the signature was
		// checked by validate, and the leaf identity by the expected-leaf comparison.
		return nil
	}
	inter := x509.NewCertPool()
	for _, der := range chain[1:] {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return err
		}
		inter.AddCert(c)
	}
	_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{w.purpose}})
	return err
}
