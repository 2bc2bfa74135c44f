package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestServeProcess builds the real binary, starts `newsflash serve` with no
// configuration but a free port, posts with the bootstrap editor's token,
// reads it over WebSocket, and stops the process with SIGTERM: the reader is
// told 1001 and the process exits 0.
func TestServeProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "newsflash")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	checkBinaryVersion(t, bin)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--addr", "127.0.0.1:0", "--log-format", "json")
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	// Read the log until the listening line; keep the rest for later.
	logs := bufio.NewScanner(stderr)
	var addr string
	var lines []string
	for addr == "" && logs.Scan() {
		lines = append(lines, logs.Text())
		var l struct{ Msg, Addr, Version string }
		if json.Unmarshal(logs.Bytes(), &l) == nil && l.Msg == "newsflash listening" {
			addr = l.Addr
			if !strings.HasSuffix(l.Version, " "+runtime.Version()) {
				t.Errorf("listening line version %q, want the build's, ending with %s", l.Version, runtime.Version())
			}
		}
	}
	if addr == "" {
		t.Fatalf("no listening line in the log:\n%s", strings.Join(lines, "\n"))
	}
	rest := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(stderr)
		rest <- string(b)
	}()
	// The first start made an editor and kept its token in the data
	// directory; the log names the file, never the token.
	tokenBytes, err := os.ReadFile(filepath.Join(dir, "data", "editor-token"))
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(tokenBytes))
	logged := strings.Join(lines, "\n")
	if token == "" || strings.Contains(logged, token) {
		t.Error("first start logged the bootstrap token (or made none)")
	}
	if !strings.Contains(logged, "editor-token") {
		t.Error("first start did not say where the bootstrap token is")
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "nats", "jetstream")); err != nil {
		t.Errorf("embedded JetStream is not under ./data/nats: %v", err)
	}

	for deadline := time.Now().Add(30 * time.Second); ; {
		res, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
	conn, _, err := websocket.Dial(ctx, "ws://"+addr+"/api/v1/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if _, b, err := conn.Read(ctx); err != nil || !strings.Contains(string(b), `"welcome"`) {
		t.Fatalf("welcome: %s %v", b, err)
	}
	req, _ := http.NewRequest("POST", "http://"+addr+"/api/v1/items",
		strings.NewReader(`{"text":"From a real process","lang":"es","regions":["latin-america"]}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("post: %d", res.StatusCode)
	}
	if _, b, err := conn.Read(ctx); err != nil || !strings.Contains(string(b), "From a real process") {
		t.Fatalf("item: %s %v", b, err)
	}

	if runtime.GOOS == "windows" {
		t.Skip("the graceful stop is not tested: Windows cannot send SIGTERM to a process")
	}
	closed := make(chan error, 1)
	go func() { _, _, err := conn.Read(ctx); closed <- err }()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if s := websocket.CloseStatus(<-closed); s != websocket.StatusGoingAway {
		t.Errorf("reader close status %v, want 1001", s)
	}
	// The whole log first: Wait closes the pipe once the process has
	// exited, maybe before the last lines were read.
	tail := <-rest
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v\n%s", err, tail)
	}
	if !strings.Contains(tail, `"msg":"stopped"`) {
		t.Errorf("no clean stop in the log:\n%s", tail)
	}
	// Every request was logged, and the token never was again.
	if !regexp.MustCompile(`"msg":"request".*"path":"/api/v1/items".*"status":201`).MatchString(tail) {
		t.Errorf("the post was not logged:\n%s", tail)
	}
	if strings.Contains(tail, token) {
		t.Error("the token appeared in the log after the first start")
	}
}
