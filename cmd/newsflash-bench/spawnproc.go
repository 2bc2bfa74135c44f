package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"newsflash/internal/bench"
)

// maxSubscribePerHour is serve's highest --push-subscribe-per-hour: a run
// registering more per source address needs more --src-ips.
const maxSubscribePerHour = 10000

// serverProcess is a newsflash serve child process.
type serverProcess struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when Wait returned
	logs   chan struct{} // closed when its log is read to the end
}

// spawnProcess starts bin serve as a child process on a free loopback port,
// set up as spawnServer sets up its server, with st's flags and
// environment (SSL_CERT_FILE: Linux and the other Unix systems but macOS).
// Its CPU and RSS are then its own, apart from the tool's.
func spawnProcess(ctx context.Context, bin, sinkAddr string, st *bench.StandIns, stderr io.Writer) (*spawned, error) {
	sp, line, err := newSpawned(sinkAddr)
	if err != nil {
		return nil, err
	}
	sink, fail := sp.sink, sp.fail
	args := []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", sp.dir, "--log-format", "json",
		"--editor-hashes", line,
		"--vapid-subject", "mailto:bench@newsroom.example", "--push-insecure-test-endpoints", sink.Addr().String(),
		"--push-subscribe-per-hour", strconv.Itoa(maxSubscribePerHour),
		"--readers-per-address", "0", "--connections-per-address", "0",
		"--reader-connects-per-second", "0", "--api-requests-per-second", "0"}
	cmd := exec.Command(bin, args...)
	cmd.Env = os.Environ()
	if st != nil {
		args = append(args, st.ServeArgs()...)
		cmd.Args = append([]string{bin}, args...)
		cmd.Env = append(cmd.Env, st.Env()...)
	}
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return fail(err)
	}
	if err := cmd.Start(); err != nil {
		return fail(fmt.Errorf("start %s: %w", bin, err))
	}
	p := &serverProcess{cmd: cmd, exited: make(chan struct{}), logs: make(chan struct{})}
	sp.proc = p
	addr := make(chan string, 1)
	go p.readLog(pipe, addr, stderr)
	go func() {
		<-p.logs // Wait closes the pipe: read it to the end first
		sp.done <- cmd.Wait()
		close(p.exited)
	}()
	select {
	case a := <-addr:
		sp.url = "http://" + a
	case <-p.exited:
		return fail(fmt.Errorf("%s serve exited at start-up: %v", bin, <-sp.done))
	case <-time.After(spawnStartTimeout):
		p.stop(stderr)
		return fail(fmt.Errorf("%s serve did not start listening within %s", bin, spawnStartTimeout))
	case <-ctx.Done():
		p.stop(stderr)
		return fail(ctx.Err())
	}
	fmt.Fprintf(stderr, "bench: spawned %s serve, pid %d, at %s (data in %s)\n", bin, cmd.Process.Pid, sp.url, sp.dir)
	return sp, nil
}

// readLog reads the child's JSON log: it sends the listening address on
// addr and copies every line above info to stderr.
func (p *serverProcess) readLog(r io.Reader, addr chan<- string, stderr io.Writer) {
	defer close(p.logs)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l struct{ Level, Msg, Addr string }
		if json.Unmarshal(sc.Bytes(), &l) != nil || l.Level != "INFO" && l.Level != "DEBUG" {
			fmt.Fprintf(stderr, "server: %s\n", sc.Bytes())
		}
		if l.Msg == "newsflash listening" && l.Addr != "" {
			select {
			case addr <- l.Addr:
			default:
			}
		}
	}
	io.Copy(io.Discard, r)
}

// stop asks the child to stop (SIGTERM; a kill where signals are not
// supported or after spawnStopTimeout) and waits for it.
func (p *serverProcess) stop(stderr io.Writer) {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		p.cmd.Process.Kill()
	}
	select {
	case <-p.exited:
	case <-time.After(spawnStopTimeout):
		fmt.Fprintf(stderr, "bench: the server process did not stop within %s: killed\n", spawnStopTimeout)
		p.cmd.Process.Kill()
		<-p.exited
	}
	<-p.logs
}
