package bench

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"newsflash/internal/apns/apnstest"
	"newsflash/internal/fcm/fcmtest"
)

// Platforms of the push scenario.
const (
	PlatformWeb     = "web"
	PlatformAndroid = "android"
	PlatformIOS     = "ios"
)

// Platforms lists the known platforms in the order results are given.
var Platforms = []string{PlatformWeb, PlatformAndroid, PlatformIOS}

// StandIns are the local FCM and APNs stand-ins of a push run, in this
// process on loopback, and the files a server needs to use them: the
// service-account JSON, the .p8 key and the stand-ins' certificates as one
// PEM file for SSL_CERT_FILE.
type StandIns struct {
	FCM  *fcmtest.Server  // nil without android
	APNs *apnstest.Server // nil without ios

	dir                        string
	credsFile, keyFile, cafile string
	pool                       *x509.CertPool
}

// StartStandIns starts the stand-ins the platforms need (none for web
// only: then it returns nil) and writes their files to a temporary
// directory. Close stops them and removes it.
func StartStandIns(platforms []string) (st *StandIns, err error) {
	android, ios := slices.Contains(platforms, PlatformAndroid), slices.Contains(platforms, PlatformIOS)
	if !android && !ios {
		return nil, nil
	}
	st = &StandIns{pool: x509.NewCertPool()}
	defer func() {
		if err != nil {
			st.Close()
			st = nil
		}
	}()
	if st.dir, err = os.MkdirTemp("", "newsflash-bench-standins-"); err != nil {
		return st, err
	}
	var ca []byte
	if android {
		st.FCM = fcmtest.New(fcmtest.Options{Discard: true})
		if st.credsFile, err = st.FCM.CredentialsFile(st.dir); err != nil {
			return st, err
		}
		p := filepath.Join(st.dir, "fcm-ca.pem")
		if err = st.FCM.WriteCA(p); err != nil {
			return st, err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return st, err
		}
		ca = append(ca, b...)
	}
	if ios {
		if st.APNs, err = apnstest.Start(); err != nil {
			return st, err
		}
		st.APNs.SetRecord(false)
		if st.keyFile, err = st.APNs.KeyFile(st.dir); err != nil {
			return st, err
		}
		p := filepath.Join(st.dir, "apns-ca.pem")
		if err = st.APNs.WriteCA(p); err != nil {
			return st, err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return st, err
		}
		ca = append(ca, b...)
	}
	if !st.pool.AppendCertsFromPEM(ca) {
		return st, errors.New("stand-ins: no certificate in their CA files")
	}
	st.cafile = filepath.Join(st.dir, "ca.pem")
	return st, os.WriteFile(st.cafile, ca, 0o644)
}

// Close stops the stand-ins and removes their files.
func (st *StandIns) Close() {
	if st == nil {
		return
	}
	if st.FCM != nil {
		st.FCM.Close()
	}
	if st.APNs != nil {
		st.APNs.Close()
	}
	if st.dir != "" {
		os.RemoveAll(st.dir)
	}
}

// ServeArgs are the flags of newsflash serve that point it at the
// stand-ins.
func (st *StandIns) ServeArgs() []string {
	var a []string
	if st.FCM != nil {
		a = append(a, "--fcm-credentials", st.credsFile, "--fcm-endpoint", st.FCM.URL())
	}
	if st.APNs != nil {
		a = append(a, "--apns-key-file", st.keyFile, "--apns-key-id", apnstest.KeyID, "--apns-team-id", apnstest.TeamID,
			"--apns-topic", apnstest.Topic, "--apns-endpoint", st.APNs.URL)
	}
	return a
}

// Env is the environment a server process needs to trust the stand-ins
// with its system roots: SSL_CERT_FILE, which Go honours on Linux and the
// other Unix systems but macOS and Windows, where the platform's verifier
// is used and the stand-ins cannot be trusted without installing their CA.
func (st *StandIns) Env() []string { return []string{"SSL_CERT_FILE=" + st.cafile} }

// CredentialsFile, KeyFile are the FCM service-account JSON and the APNs
// .p8 key the stand-ins accept.
func (st *StandIns) CredentialsFile() string { return st.credsFile }
func (st *StandIns) KeyFile() string         { return st.keyFile }

// Client is an HTTP client trusting the stand-ins (for a server in this
// process, which cannot be given SSL_CERT_FILE once the system roots are
// loaded).
func (st *StandIns) Client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: st.pool, MinVersion: tls.VersionTLS12}
	tr.ForceAttemptHTTP2 = true
	return &http.Client{Transport: tr}
}

// accepted is how many sends the stand-in of a native platform took.
func (st *StandIns) accepted(platform string) int {
	switch {
	case st == nil:
		return 0
	case platform == PlatformAndroid && st.FCM != nil:
		return st.FCM.Accepted()
	case platform == PlatformIOS && st.APNs != nil:
		return st.APNs.Accepted()
	}
	return 0
}

// Command is how to start a separate server for the stand-ins, for a
// human: the environment, then the flags.
func (st *StandIns) Command() string {
	return strings.Join(st.Env(), " ") + " newsflash serve " + strings.Join(st.ServeArgs(), " ")
}

// ParsePlatforms checks a list of platforms: known, each once.
func ParsePlatforms(ps []string) ([]string, error) {
	if len(ps) == 0 {
		return []string{PlatformWeb}, nil
	}
	var out []string
	for _, p := range ps {
		if !slices.Contains(Platforms, p) {
			return nil, fmt.Errorf("%w: --platforms: unknown platform %q: want web, android or ios", ErrUsage, p)
		}
		if slices.Contains(out, p) {
			return nil, fmt.Errorf("%w: --platforms: %s given twice", ErrUsage, p)
		}
		out = append(out, p)
	}
	// In the order of Platforms, so that results read alike.
	slices.SortFunc(out, func(a, b string) int { return slices.Index(Platforms, a) - slices.Index(Platforms, b) })
	return out, nil
}
