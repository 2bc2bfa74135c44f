package faults

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"newsflash/internal/apns/apnstest"
	"newsflash/internal/fcm/fcmtest"
)

// appStandIns are the FCM and APNs stand-ins in the test process, with the
// flags and environment that point a child `newsflash serve` at them.
type appStandIns struct {
	fcm  *fcmtest.Server
	apns *apnstest.Server
	args []string // --fcm-*, --apns-* flags
	env  []string // SSL_CERT_FILE=<both stand-ins' certificates>
}

// appsSupported says why the app platforms cannot be part of a fault test
// here, or "" when they can: a child process trusts the stand-ins through
// SSL_CERT_FILE, which Go's system roots honour on Linux (macOS and
// Windows verify with the platform's own store).
func appsSupported() string {
	if runtime.GOOS != "linux" {
		return "the child processes trust the FCM and APNs stand-ins through SSL_CERT_FILE, honoured on Linux only"
	}
	return ""
}

// startAppStandIns starts both stand-ins, each answering after delay, and
// writes the service-account JSON, the .p8 key and their certificates.
func startAppStandIns(t *testing.T, delay time.Duration) *appStandIns {
	t.Helper()
	dir := t.TempDir()
	f := fcmtest.New(fcmtest.Options{})
	t.Cleanup(f.Close)
	a := apnstest.New(t)
	f.SetDelay(delay)
	a.SetDelay(delay)
	creds, err := f.CredentialsFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	key, err := a.KeyFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ca []byte
	for name, write := range map[string]func(string) error{"fcm": f.WriteCA, "apns": a.WriteCA} {
		p := filepath.Join(dir, name+"-ca.pem")
		if err := write(p); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		ca = append(ca, b...)
	}
	cafile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(cafile, ca, 0o644); err != nil {
		t.Fatal(err)
	}
	return &appStandIns{fcm: f, apns: a,
		args: []string{"--fcm-credentials", creds, "--fcm-endpoint", f.URL(),
			"--apns-key-file", key, "--apns-key-id", apnstest.KeyID, "--apns-team-id", apnstest.TeamID,
			"--apns-topic", apnstest.Topic, "--apns-endpoint", a.URL},
		env: []string{"SSL_CERT_FILE=" + cafile}}
}

// Device tokens of the shapes the API accepts: an FCM registration token
// (100 to 4,096 of A-Z a-z 0-9 _ : -) and an APNs token (64 hex digits).
func androidToken(i int) string {
	return fmt.Sprintf("fault-android-%03d:", i) + strings.Repeat("APA91b_x-", 12)
}

func iosToken(i int) string { return fmt.Sprintf("%064x", 0xfa017000+i) }

// registerDevice registers a device for every item through the API.
func registerDevice(t *testing.T, base, platform, tok string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"platform": platform, "token": tok, "filter": map[string]any{}})
	res, err := http.Post(base+"/api/v1/devices", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("register %s device: %v", platform, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("register %s device: %s", platform, res.Status)
	}
}

// fcmReceived counts, per Android device, the items it got (by id).
func (st *appStandIns) fcmReceived(tokens []string) []map[string]int {
	byToken := map[string]map[string]int{}
	for _, m := range st.fcm.Messages() {
		if byToken[m.Token] == nil {
			byToken[m.Token] = map[string]int{}
		}
		byToken[m.Token][m.Data["id"]]++
	}
	return perDevice(tokens, byToken)
}

// apnsReceived counts, per iOS device, the items it got (by id).
func (st *appStandIns) apnsReceived(tokens []string) []map[string]int {
	byToken := map[string]map[string]int{}
	for _, n := range st.apns.Notifications() {
		if n.Payload.Newsflash == nil {
			continue
		}
		if byToken[n.DeviceToken] == nil {
			byToken[n.DeviceToken] = map[string]int{}
		}
		byToken[n.DeviceToken][n.Payload.Newsflash.ID]++
	}
	return perDevice(tokens, byToken)
}

func perDevice(tokens []string, byToken map[string]map[string]int) []map[string]int {
	out := make([]map[string]int, len(tokens))
	for i, tok := range tokens {
		out[i] = byToken[tok]
		if out[i] == nil {
			out[i] = map[string]int{}
		}
	}
	return out
}

// tally counts the acked items a platform's receivers never got and the
// deliveries beyond the first.
func tally(acked []string, received []map[string]int) (missing, repeated int) {
	for _, got := range received {
		for _, id := range acked {
			if got[id] == 0 {
				missing++
			}
			repeated += max(got[id]-1, 0)
		}
	}
	return missing, repeated
}

// platformCheck is one platform's receivers in a push fault test.
type platformCheck struct {
	name     string
	inFlight int                     // its sends in flight per instance
	received func() []map[string]int // per receiver: item id → deliveries
}

// checkPushed waits until every platform's receivers got every acked item
// (or until deadline), prints a summary line per platform and checks that
// none is missing and at most the sends in flight at the kill repeated.
func checkPushed(t *testing.T, name string, acked []string, deadline time.Time, platforms ...platformCheck) {
	t.Helper()
	for {
		done := true
		for _, p := range platforms {
			if m, _ := tally(acked, p.received()); m != 0 {
				done = false
			}
		}
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	for _, p := range platforms {
		rec := p.received()
		missing, dup := tally(acked, rec)
		line := fmt.Sprintf("%s, push to %s: items=%d receivers=%d missing=%d repeated=%d", name, p.name, len(acked), len(rec), missing, dup)
		t.Log(line)
		fmt.Println("summary " + line)
		if missing != 0 {
			t.Errorf("%s: %d deliveries never made", p.name, missing)
		}
		// A send under way when the process died cannot be known to have
		// arrived: it is made again, with the same Topic, tag, collapse key
		// or collapse id (the device shows one notification). At most the
		// sends in flight and those of one progress save can repeat.
		if dup > 2*p.inFlight {
			t.Errorf("%s: %d repeated deliveries: more than the sends in flight at the kill (%d)", p.name, dup, p.inFlight)
		}
	}
}

// sendingToAll waits (a bounded while) until the instance at base has made
// sends to every one of hosts (by its newsflash_push_sends_total), so that
// a kill that follows finds it delivering rather than idle. It says
// whether it saw that.
func sendingToAll(base string, hosts []string, limit time.Duration) bool {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		res, err := http.Get(base + "/metrics")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		all := true
		for _, h := range hosts {
			found := false
			for _, line := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(line, "newsflash_push_sends_total{") && strings.Contains(line, `host="`+h+`"`) &&
					strings.Contains(line, `outcome="sent"`) && !strings.HasSuffix(line, " 0") {
					found = true
					break
				}
			}
			all = all && found
		}
		if all {
			return true
		}
	}
	return false
}
