// Interop peer in Go, independent of the TypeScript library: a frame-level HTTP/2 client and
// server on golang.org/x/net/http2 (Framer, hpack; Debian golang-golang-x-net-dev, built in
// GOPATH mode: GO111MODULE=off GOPATH=/usr/share/gocode) with its own RFC 9261 exported
// authenticators (ea.go, creds.go) written from the RFC and the project digests.
//
//   client: h2peer -port P -scenario S -ca CA.pem -pki DIR
//     error paths: raw misbehaving frames (digest http2-secondary-certs §3.3);
//     plain-request: http2.Transport; EA scenarios: client.go.
//   server: h2peer -serve -scenario S -pki DIR   (prints "listening <port>", "result pass|fail ...")
//
// Exit status (interop convention): 0 pass, 1 fail, 127 scenario not supported.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/net/http2"
)

type errScenario struct {
	frameType uint8
	stream    uint32
	size      int // -1: the server's SETTINGS_MAX_FRAME_SIZE + 1
	code      http2.ErrCode
}

var scenarios = map[string]errScenario{
	"err-authenticator-requests-at-server": {frameAuthRequests, 0, 5, http2.ErrCodeProtocol},
	"err-unsolicited-client-certificate":   {frameClientCertificate, 0, 52, http2.ErrCodeProtocol},
	"err-certificate-on-stream":            {frameClientCertificate, 1, 52, http2.ErrCodeProtocol},
	"err-server-certificate-from-client":   {frameServerCertificate, 0, 100, http2.ErrCodeProtocol},
	"err-frame-too-large":                  {frameClientCertificate, 0, -1, http2.ErrCodeFrameSize},
}

func tlsConfig(ca string) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS13, NextProtos: []string{"h2"}, ServerName: "localhost"}
	if ca == "" {
		cfg.InsecureSkipVerify = true
		return cfg
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		fail("reading CA: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cfg.RootCAs = pool
	return cfg
}

func fail(format string, a ...interface{}) {
	fmt.Printf("FAIL: "+format+"\n", a...)
	exit(1)
}

// verdict prints the client verdict line and exits (0 pass, 1 fail).
func verdict(ok bool, format string, a ...interface{}) {
	if !ok {
		fail(format, a...)
	}
	fmt.Printf("pass: "+format+"\n", a...)
	exit(0)
}

func exit(code int) { os.Exit(code) }

func readFileBytes(f string) ([]byte, error) { return os.ReadFile(f) }

func runError(addr, ca string, sc errScenario) {
	conn, err := tls.Dial("tcp", addr, tlsConfig(ca))
	if err != nil {
		fail("dial: %v", err)
	}
	defer conn.Close()
	if conn.ConnectionState().NegotiatedProtocol != "h2" {
		fail("ALPN did not select h2")
	}
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		fail("preface: %v", err)
	}
	fr := http2.NewFramer(conn, conn)
	fr.SetMaxReadFrameSize(1 << 24)
	if err := fr.WriteSettings(http2.Setting{ID: settingClientCertAuth, Val: 1}, http2.Setting{ID: settingServerCertAuth, Val: 1}); err != nil {
		fail("settings: %v", err)
	}
	maxFrame := uint32(16384)
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			fail("no SETTINGS from the server: %v", err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			if v, ok := sf.Value(http2.SettingMaxFrameSize); ok {
				maxFrame = v
			}
			fr.WriteSettingsAck()
			break
		}
	}
	size := sc.size
	if size < 0 {
		size = int(maxFrame) + 1
	}
	payload := make([]byte, size)
	if sc.frameType == frameAuthRequests {
		copy(payload, []byte{0x04, 0x0d, 0x00, 0x00, 0x00})
	}
	if err := fr.WriteRawFrame(http2.FrameType(sc.frameType), 0, sc.stream, payload); err != nil {
		fail("write: %v", err)
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			fail("no GOAWAY: %v", err)
		}
		if ga, ok := f.(*http2.GoAwayFrame); ok {
			fmt.Printf("GOAWAY code=0x%x last_stream_id=%d\n", uint32(ga.ErrCode), ga.LastStreamID)
			if ga.ErrCode == sc.code {
				os.Exit(0)
			}
			os.Exit(1)
		}
	}
}

func runPlain(addr, ca string) {
	client := &http.Client{Transport: &http2.Transport{TLSClientConfig: tlsConfig(ca)}, Timeout: 5 * time.Second}
	resp, err := client.Get("https://" + addr + "/")
	if err != nil {
		fail("GET: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("status %d proto %s body %q\n", resp.StatusCode, resp.Proto, string(body))
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		os.Exit(1)
	}
	os.Exit(0)
}

func main() {
	host := flag.String("host", "127.0.0.1", "server host")
	port := flag.Int("port", 0, "server port")
	scenario := flag.String("scenario", "", "scenario name")
	ca := flag.String("ca", "", "CA PEM file (default: PKI_DIR/p256/ca.pem)")
	pki := flag.String("pki", "", "harness PKI directory (default: $INTEROP_DIR/pki)")
	serve := flag.Bool("serve", false, "run the secondary-certificate server endpoint")
	flag.Parse()
	if *pki == "" {
		*pki = filepath.Join(os.Getenv("INTEROP_DIR"), "pki")
	}
	if *ca == "" {
		*ca = filepath.Join(*pki, "p256", "ca.pem")
	}
	if *serve {
		runServer(*scenario, *pki)
		return
	}
	addr := fmt.Sprintf("%s:%d", *host, *port)
	if sc, ok := scenarios[*scenario]; ok {
		runError(addr, *ca, sc)
	}
	if *scenario == "plain-request" {
		runPlain(addr, *ca)
	}
	runEAClient(addr, *ca, *scenario, *pki)
}
