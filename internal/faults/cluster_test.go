package faults

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

var (
	natsOnce sync.Once
	natsBin  string
	natsErr  error
)

// natsServerBinary builds nats-server from the module this project already
// depends on, so nodes are real processes that can be killed.
func natsServerBinary(t *testing.T) string {
	t.Helper()
	natsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nats-server-")
		if err != nil {
			natsErr = err
			return
		}
		natsBin = filepath.Join(dir, "nats-server")
		out, err := exec.Command("go", "build", "-o", natsBin, "github.com/nats-io/nats-server/v2").CombinedOutput()
		if err != nil {
			natsErr = fmt.Errorf("build nats-server: %v\n%s", err, out)
		}
	})
	if natsErr != nil {
		t.Fatal(natsErr)
	}
	return natsBin
}

// cluster is three clustered nats-server processes with JetStream on fixed
// loopback ports, so that a node can be killed and started again as itself.
type cluster struct {
	t      *testing.T
	dir    string
	client [3]int
	routes [3]int
	procs  [3]*exec.Cmd
	done   [3]chan struct{}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func newCluster(t *testing.T) *cluster {
	c := &cluster{t: t, dir: t.TempDir()}
	for i := range 3 {
		c.client[i], c.routes[i] = freePort(t), freePort(t)
	}
	for i := range 3 {
		c.start(i)
	}
	for i := range 3 {
		c.waitReady(i)
	}
	t.Cleanup(func() {
		for i := range 3 {
			c.kill(i)
		}
	})
	return c
}

func (c *cluster) name(i int) string { return "n" + strconv.Itoa(i+1) }

// start runs node i from its config file (written on first start).
func (c *cluster) start(i int) {
	c.t.Helper()
	conf := filepath.Join(c.dir, c.name(i)+".conf")
	if _, err := os.Stat(conf); err != nil {
		var routes []string
		for j := range 3 {
			if j != i {
				routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", c.routes[j]))
			}
		}
		text := fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
jetstream {
  store_dir: %q
  sync_interval: always
  max_memory_store: 64MB
  max_file_store: 1GB
}
cluster {
  name: newsflash
  listen: 127.0.0.1:%d
  routes: [%s]
}
`, c.name(i), c.client[i], filepath.Join(c.dir, c.name(i)), c.routes[i], strings.Join(routes, ", "))
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			c.t.Fatal(err)
		}
	}
	cmd := exec.Command(natsServerBinary(c.t), "-c", conf)
	logFile, err := os.Create(filepath.Join(c.dir, c.name(i)+".log"))
	if err != nil {
		c.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logFile.Close(); close(done) }()
	c.procs[i], c.done[i] = cmd, done
}

// kill ends node i at once (SIGKILL): no leadership hand-over.
func (c *cluster) kill(i int) {
	if cmd := c.procs[i]; cmd != nil {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-c.done[i]
		c.procs[i] = nil
	}
}

// waitReady waits until node i accepts clients.
func (c *cluster) waitReady(i int) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", c.client[i]), time.Second)
		if err == nil {
			conn.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("nats node %d not ready", i)
}

// url lists every node, as instances are configured.
func (c *cluster) url() string {
	var s []string
	for i := range 3 {
		s = append(s, fmt.Sprintf("nats://127.0.0.1:%d", c.client[i]))
	}
	return strings.Join(s, ",")
}

// leader is the index of the node that leads the stream, or -1.
func (c *cluster) leader(stream string) int {
	nc, err := nats.Connect(c.url())
	if err != nil {
		return -1
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil || s.CachedInfo().Cluster == nil {
		return -1
	}
	for i := range 3 {
		if s.CachedInfo().Cluster.Leader == c.name(i) {
			return i
		}
	}
	return -1
}
