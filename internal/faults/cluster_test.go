package faults

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
)

// cluster is three clustered nats-servers with JetStream on fixed loopback
// ports, so that nodes can be stopped and started again as themselves.
type cluster struct {
	t       *testing.T
	dir     string
	client  [3]int
	routes  [3]int
	servers [3]*natsserver.Server
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
		if !c.servers[i].ReadyForConnections(30 * time.Second) {
			t.Fatalf("nats node %d not ready", i)
		}
	}
	t.Cleanup(func() {
		for i := range 3 {
			c.stop(i)
		}
	})
	return c
}

func (c *cluster) name(i int) string { return "n" + strconv.Itoa(i+1) }

func (c *cluster) start(i int) {
	c.t.Helper()
	var routes []string
	for j := range 3 {
		if j != i {
			routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", c.routes[j]))
		}
	}
	opts := &natsserver.Options{
		ServerName: c.name(i), Host: "127.0.0.1", Port: c.client[i],
		JetStream: true, StoreDir: filepath.Join(c.dir, c.name(i)), SyncAlways: true,
		JetStreamMaxMemory: 64 << 20, JetStreamMaxStore: 1 << 30,
		Cluster: natsserver.ClusterOpts{Name: "newsflash", Host: "127.0.0.1", Port: c.routes[i]},
		Routes:  natsserver.RoutesFromStr(joinComma(routes)),
		NoLog:   true, NoSigs: true,
	}
	ns, err := natsserver.NewServer(opts)
	if err != nil {
		c.t.Fatalf("nats node %d: %v", i, err)
	}
	ns.Start()
	c.servers[i] = ns
}

func (c *cluster) stop(i int) {
	if s := c.servers[i]; s != nil {
		s.Shutdown()
		s.WaitForShutdown()
		c.servers[i] = nil
	}
}

// waitReady waits for node i to take clients again.
func (c *cluster) waitReady(i int) {
	c.t.Helper()
	if !c.servers[i].ReadyForConnections(30 * time.Second) {
		c.t.Fatalf("nats node %d not ready", i)
	}
}

// url lists every node, as instances are configured.
func (c *cluster) url() string {
	var s []string
	for i := range 3 {
		s = append(s, fmt.Sprintf("nats://127.0.0.1:%d", c.client[i]))
	}
	return joinComma(s)
}

// leader is the index of the node that leads the stream, or -1.
func (c *cluster) leader(stream string) int {
	for i, s := range c.servers {
		if s == nil {
			continue
		}
		if s.JetStreamIsStreamLeader("$G", stream) {
			return i
		}
	}
	return -1
}

func joinComma(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}
