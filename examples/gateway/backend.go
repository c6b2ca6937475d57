// A Go backend behind `h2sc gateway`: reads the identities the gateway forwards, using only the
// standard library. Run: go run backend.go 127.0.0.1:9000
//
// Secondary-Client-Cert is an RFC 8941 Dictionary: label=:base64(leaf DER):, ...
// Secondary-Client-Cert-Chain: label=(:base64: :base64:), ... (intermediates, TLS order).
// Trust the fields only from the gateway (bind to loopback or a private network, or verify the
// signed Secondary-Identity-Assertion).
package main

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
)

// parseCertDictionary parses label=:b64: members (the Byte Sequence form; parameters ignored).
func parseCertDictionary(field string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, member := range strings.Split(field, ",") {
		member = strings.TrimSpace(member)
		if member == "" {
			continue
		}
		eq := strings.IndexByte(member, '=')
		if eq <= 0 {
			return nil, fmt.Errorf("bad member %q", member)
		}
		key, value := member[:eq], member[eq+1:]
		if semi := strings.IndexByte(value, ';'); semi >= 0 {
			value = value[:semi]
		}
		if len(value) < 2 || value[0] != ':' || value[len(value)-1] != ':' {
			return nil, fmt.Errorf("member %q is not a byte sequence", key)
		}
		der, err := base64.StdEncoding.DecodeString(value[1 : len(value)-1])
		if err != nil {
			return nil, err
		}
		out[key] = der
	}
	return out, nil
}

type identity struct {
	Subject string `json:"subject"`
	SHA256  string `json:"sha256"`
}

func main() {
	addr := "127.0.0.1:0"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		panic(err)
	}
	fmt.Printf("listening on %d\n", ln.Addr().(*net.TCPAddr).Port)
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ids := map[string]identity{}
		certs, err := parseCertDictionary(strings.Join(r.Header.Values("Secondary-Client-Cert"), ","))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for label, der := range certs {
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			sum := sha256.Sum256(der)
			ids[label] = identity{Subject: cert.Subject.String(), SHA256: hex.EncodeToString(sum[:])}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"identities": ids, "forwarded": r.Header.Get("Forwarded")})
	}))
}
