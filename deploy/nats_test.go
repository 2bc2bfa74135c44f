package deploy

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

// natsConfig parses a NATS server config with nats-server's own parser,
// each $VARIABLE it takes from the environment set to a made-up value.
// Warnings (such as a field it ignores) fail the test as errors do.
func natsConfig(t *testing.T, path string) *server.Options {
	t.Helper()
	return natsConfigEnv(t, path, nil)
}

// checkDurable checks what every NATS server of ours needs: JetStream that
// fsyncs each write before acknowledging it, as the embedded server does.
func checkDurable(t *testing.T, where string, o *server.Options) {
	t.Helper()
	if !o.JetStream {
		t.Errorf("%s: JetStream is not enabled", where)
	}
	if !o.SyncAlways {
		t.Errorf("%s: jetstream sync_interval is not \"always\": acknowledged writes could be lost on a crash", where)
	}
	if o.StoreDir == "" {
		t.Errorf("%s: no jetstream store_dir", where)
	}
}

// natsConfFiles lists every NATS server config under deploy/: the .conf
// files that are not nginx's.
func natsConfFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, p := range files(t, ".conf") {
		if !strings.Contains("/"+p, "/nginx/") {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		t.Fatal("no NATS config files found")
	}
	return out
}

func TestEveryNATSConfig(t *testing.T) {
	for _, p := range natsConfFiles(t) {
		o := natsConfig(t, p)
		checkDurable(t, p, o)
		if o.ServerName == "" {
			t.Errorf("%s: no server_name (JetStream clusters need one per server)", p)
		}
		if o.JetStreamMaxStore <= 0 || o.JetStreamMaxMemory <= 0 {
			t.Errorf("%s: set max_file_store and max_memory_store", p)
		}
		if o.Cluster.Name == "" || o.Cluster.Port <= 0 || len(o.Routes) == 0 {
			t.Errorf("%s: want a cluster with a name, a port and routes", p)
		}
		if o.HTTPPort <= 0 {
			t.Errorf("%s: no http monitoring port", p)
		}
	}
}

func TestComposeNATSCluster(t *testing.T) {
	c := loadCompose(t)
	names, clusters := map[string]string{}, map[string]bool{}
	for _, s := range c.nats {
		where := composeFile + ": " + s.name
		o := s.conf
		if prev, dup := names[o.ServerName]; dup {
			t.Errorf("%s: server_name %q is also %s's", where, o.ServerName, prev)
		}
		names[o.ServerName] = s.name
		clusters[o.Cluster.Name] = true

		// Routes reach every server of the compose file on its cluster port.
		routed := map[string]bool{}
		for _, r := range o.Routes {
			peer, ok := c.natsByName(r.Hostname())
			if !ok {
				t.Errorf("%s: route %s is not a NATS service of the compose file", where, r)
				continue
			}
			if r.Port() != itoa(peer.conf.Cluster.Port) {
				t.Errorf("%s: route %s, but %s's cluster port is %d", where, r, peer.name, peer.conf.Cluster.Port)
			}
			routed[peer.name] = true
		}
		for _, other := range c.nats {
			if !routed[other.name] && other.name != s.name {
				t.Errorf("%s: no route to %s", where, other.name)
			}
		}

		// Docker lets the server finish its lame-duck mode before killing it.
		lameDuck := o.LameDuckGracePeriod + o.LameDuckDuration
		if g := str(s.def, "stop_grace_period"); g == "" || duration(t, where, g) <= lameDuck {
			t.Errorf("%s: stop_grace_period %q is not longer than lame_duck_grace_period + lame_duck_duration (%s)", where, g, lameDuck)
		}

		// The store is on a volume, and the healthcheck asks this server.
		if volumeTargetFor(s.def, o.StoreDir) == "" {
			t.Errorf("%s: store_dir %s is not on a volume: JetStream data would go with the container", where, o.StoreDir)
		}
		hc := strings.Join(stringList(list(s.def, "healthcheck", "test")), " ")
		if !strings.Contains(hc, ":"+itoa(o.HTTPPort)+"/healthz") {
			t.Errorf("%s: the healthcheck %q does not ask /healthz on the monitoring port %d", where, hc, o.HTTPPort)
		}
	}
	if len(clusters) != 1 {
		t.Errorf("%s: the NATS servers name %d clusters; want one", composeFile, len(clusters))
	}
}

// volumeTargetFor returns the target of the service's volume that holds
// dir, or "".
func volumeTargetFor(svc map[string]any, dir string) string {
	for _, v := range composeVolumes(svc) {
		if v.target != "" && (dir == v.target || strings.HasPrefix(dir, strings.TrimSuffix(v.target, "/")+"/")) {
			return v.target
		}
	}
	return ""
}

func TestNATSHelmValues(t *testing.T) {
	v := yamlDocs(t, helmValues)[0]
	if node(v, "config", "cluster", "enabled") != true {
		t.Errorf("%s: config.cluster.enabled is not true", helmValues)
	}
	if n := num(v, "config", "cluster", "replicas"); n < 3 || n%2 == 0 {
		t.Errorf("%s: config.cluster.replicas %d: want an odd number, 3 or more, for a JetStream quorum", helmValues, n)
	}
	js := obj(v, "config", "jetstream")
	if js["enabled"] != true {
		t.Errorf("%s: config.jetstream.enabled is not true", helmValues)
	}
	if node(js, "fileStore", "enabled") == false || node(js, "fileStore", "pvc", "enabled") == false || str(js, "fileStore", "pvc", "size") == "" {
		t.Errorf("%s: want the file store on a PVC of a given size", helmValues)
	}
	if got := str(js, "merge", "sync_interval"); got != "always" {
		t.Errorf("%s: config.jetstream.merge.sync_interval is %q, want always", helmValues, got)
	}

	// The chart writes the merge block into the server's jetstream { }; let
	// nats-server read it the same way (a NATS config may be JSON).
	block := map[string]any{"store_dir": "/data"}
	for k, val := range obj(js, "merge") {
		block[k] = val
	}
	conf, err := json.Marshal(map[string]any{"server_name": "helm", "jetstream": block})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(path, conf, 0o600); err != nil {
		t.Fatal(err)
	}
	checkDurable(t, helmValues+" (jetstream merge, as nats-server reads it)", natsConfig(t, path))
}

// natsURLs splits a --nats-url value.
func natsURLs(t *testing.T, where, s string) []*url.URL {
	t.Helper()
	var out []*url.URL
	for _, u := range strings.Split(s, ",") {
		pu, err := url.Parse(strings.TrimSpace(u))
		if err != nil || pu.Scheme != "nats" || pu.Hostname() == "" || pu.Port() == "" {
			t.Errorf("%s: --nats-url entry %q: want nats://host:port", where, u)
			continue
		}
		out = append(out, pu)
	}
	return out
}
