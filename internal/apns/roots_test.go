package apns_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"newsflash/internal/apns"
	"newsflash/internal/apns/apnstest"
	"newsflash/internal/news"
)

// TestSystemRootsThroughSSLCertFile: with no HTTPClient the client trusts
// the system's roots, which a test points at the stand-in's authority with
// SSL_CERT_FILE (read once per process: so in a child process), as the
// server's own tests do; there is no insecure switch.
func TestSystemRootsThroughSSLCertFile(t *testing.T) {
	if endpoint := os.Getenv("APNS_TEST_CHILD_ENDPOINT"); endpoint != "" {
		childSend(t, endpoint)
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("SSL_CERT_FILE replaces the system roots on Linux only")
	}
	srv := apnstest.New(t)
	other := apnstest.New(t)
	dir := t.TempDir()
	keyFile, err := srv.KeyFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	run := func(ca *apnstest.Server, want string) {
		t.Helper()
		caFile := filepath.Join(t.TempDir(), "ca.pem")
		if err := ca.WriteCA(caFile); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestSystemRootsThroughSSLCertFile$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+caFile, "SSL_CERT_DIR="+t.TempDir(),
			"APNS_TEST_CHILD_ENDPOINT="+srv.URL, "APNS_TEST_CHILD_KEY="+keyFile, "APNS_TEST_CHILD_WANT="+want)
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "child: "+want) {
			t.Errorf("child wanting %s: %v\n%s", want, err, out)
		}
	}
	run(srv, "sent")
	if got := srv.Accepted(); got != 1 {
		t.Errorf("stand-in accepted %d, want 1", got)
	}
	run(other, "retry") // another authority: the certificate is not trusted
	if got := srv.Accepted(); got != 1 {
		t.Errorf("stand-in accepted %d, want still 1", got)
	}
}

func childSend(t *testing.T, endpoint string) {
	key, err := apns.LoadKey(os.Getenv("APNS_TEST_CHILD_KEY"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := apns.New(apns.Deps{}, apns.Options{Endpoint: endpoint, Key: key, KeyID: apnstest.KeyID,
		TeamID: apnstest.TeamID, Topic: apnstest.Topic})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := c.Send(context.Background(), message(device(1), news.EventItem, news.PriorityFlash))
	t.Logf("child: %s (%+v)", r.Outcome, r)
	if want := os.Getenv("APNS_TEST_CHILD_WANT"); r.Outcome.String() != want {
		t.Errorf("got %+v, want %s", r, want)
	}
	if r.Outcome == apns.Retry && !strings.Contains(r.Reason, "certificate") {
		t.Errorf("reason %q: want a certificate error", r.Reason)
	}
}
