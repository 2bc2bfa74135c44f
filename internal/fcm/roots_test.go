package fcm_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"newsflash/internal/fcm"
	"newsflash/internal/news"
)

// TestDefaultClientVerifiesTLS checks that a Client without an injected
// HTTP client verifies the system's roots: the stand-in's certificate is
// refused (no insecure fallback), and, in a child process whose
// SSL_CERT_FILE names the stand-in's certificate (Linux), trusted.
func TestDefaultClientVerifiesTLS(t *testing.T) {
	if ep := os.Getenv("FCMTEST_CHILD_ENDPOINT"); ep != "" {
		childSend(ep, os.Getenv("FCMTEST_CHILD_CREDENTIALS"))
		return
	}
	s := standIn(t)
	c, err := fcm.New(fcm.Deps{}, fcm.Options{Endpoint: s.URL(), Credentials: s.Credentials()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := send(t, c, message(deviceToken(1), fcm.KindItem, news.PriorityFlash))
	if r.Outcome != fcm.Retry || !strings.Contains(r.Reason, "certificate") {
		t.Errorf("Send with the system roots = %+v, want a certificate error", r)
	}
	if s.Grants() != 0 || s.Accepted() != 0 {
		t.Fatalf("the stand-in was trusted without its certificate")
	}
	if runtime.GOOS != "linux" {
		t.Skip("SSL_CERT_FILE is honoured on Linux only")
	}
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := s.WriteCA(ca); err != nil {
		t.Fatal(err)
	}
	creds, err := s.CredentialsFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestDefaultClientVerifiesTLS$", "-test.count=1")
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+ca, "SSL_CERT_DIR="+dir,
		"FCMTEST_CHILD_ENDPOINT="+s.URL(), "FCMTEST_CHILD_CREDENTIALS="+creds)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "child outcome=sent") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if s.Grants() != 1 || s.Accepted() != 1 {
		t.Errorf("grants %d accepted %d, want 1 1", s.Grants(), s.Accepted())
	}
}

// childSend is the child's part: credentials from the file, the default
// HTTP client.
func childSend(endpoint, path string) {
	creds, err := fcm.LoadCredentials(path)
	if err != nil {
		fmt.Println("child:", err)
		return
	}
	c, err := fcm.New(fcm.Deps{}, fcm.Options{Endpoint: endpoint, Credentials: creds})
	if err != nil {
		fmt.Println("child:", err)
		return
	}
	defer c.Close()
	r := c.Send(context.Background(), message(deviceToken(1), fcm.KindItem, news.PriorityFlash))
	fmt.Printf("child outcome=%s status=%d reason=%s\n", r.Outcome, r.Status, r.Reason)
}
