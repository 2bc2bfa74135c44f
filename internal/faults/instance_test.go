package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"newsflash/internal/editor"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// newsflashBinary builds cmd/newsflash once for all tests.
func newsflashBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "newsflash-faults-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "newsflash")
		out, err := exec.Command("go", "build", "-o", binary, "newsflash/cmd/newsflash").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

var token, editorLine = func() (string, string) {
	tok, line, err := editor.NewToken("faults")
	if err != nil {
		panic(err)
	}
	return tok, line
}()

// proc is one `newsflash serve` process.
type proc struct {
	t    *testing.T
	name string
	addr string
	args []string
	env  []string // added to this process's environment
	cmd  *exec.Cmd
	logs *bytes.Buffer
	done chan struct{}
}

// startProc runs newsflash serve on addr against the cluster.
func startProc(t *testing.T, name, addr string, extra ...string) *proc {
	t.Helper()
	return startProcEnv(t, name, addr, nil, extra...)
}

// startProcEnv is startProc with variables added to the environment.
func startProcEnv(t *testing.T, name, addr string, env []string, extra ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, addr: addr, env: env, args: append([]string{
		"serve", "--addr", addr, "--data-dir", t.TempDir(), "--log-format", "json", "--log-level", "warn",
		"--editor-hashes", editorLine, "--shutdown-timeout", "5s", "--start-timeout", "2m",
		// The tests send alerts in quick succession: no flood guard.
		"--alert-min-interval", "0", "--alert-duplicate-window", "0",
	}, extra...)}
	p.launch()
	t.Cleanup(p.kill)
	return p
}

func (p *proc) launch() {
	p.t.Helper()
	p.logs = &bytes.Buffer{}
	p.cmd = exec.Command(newsflashBinary(p.t), p.args...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if len(p.env) > 0 {
		p.cmd.Env = append(os.Environ(), p.env...)
	}
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.done = make(chan struct{})
	go func() { p.cmd.Wait(); close(p.done) }()
	p.waitReady()
}

func (p *proc) waitReady() {
	p.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			p.t.Fatalf("%s exited at start:\n%s", p.name, p.logs)
		default:
		}
		res, err := http.Get("http://" + p.addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.t.Fatalf("%s not ready:\n%s", p.name, p.logs)
}

// kill ends the process at once (SIGKILL): no goodbye to anyone.
func (p *proc) kill() {
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

// restart starts the same process again (same address and flags).
func (p *proc) restart() { p.launch() }

func (p *proc) url() string { return "http://" + p.addr }

// post sends an item with an Idempotency-Key and returns the status and
// the item's id and seq when it was created.
func post(ctx context.Context, base, key, body string) (int, string, uint64, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/v1/items", strings.NewReader(body))
	if err != nil {
		return 0, "", 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", 0, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var it struct {
		ID  string `json:"id"`
		Seq uint64 `json:"seq"`
	}
	_ = json.Unmarshal(b, &it)
	return res.StatusCode, it.ID, it.Seq, nil
}
