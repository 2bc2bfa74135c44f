package deploy

import (
	"maps"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

const (
	composeDir  = "compose"
	composeFile = composeDir + "/compose.yaml"
)

type composeService struct {
	name string
	def  map[string]any
	conf *server.Options // NATS services: their parsed config
}

// composeSetup is compose.yaml split by role.
type composeSetup struct {
	nats, newsflash []composeService
	proxy           composeService
	prometheus      []composeService // optional
	networks        map[string]any   // the top-level networks
}

func (c composeSetup) natsByName(name string) (composeService, bool) {
	for _, s := range c.nats {
		if s.name == name {
			return s, true
		}
	}
	return composeService{}, false
}

// loadCompose parses compose.yaml and tells its services apart: NATS by
// image, Newsflash by being built from this repository, nginx and
// Prometheus by image.
func loadCompose(t *testing.T) composeSetup {
	t.Helper()
	doc := yamlDocs(t, composeFile)[0]
	c := composeSetup{networks: obj(doc, "networks")}
	services := obj(doc, "services")
	names := slices.Sorted(maps.Keys(services))
	var proxies []composeService
	for _, name := range names {
		s := composeService{name: name, def: obj(services, name)}
		ctx := str(s.def, "build", "context")
		if ctx == "" {
			ctx = str(s.def, "build")
		}
		switch image := str(s.def, "image"); {
		case strings.HasPrefix(image, "nats:"):
			// Its $VARIABLES from its environment, as compose gives it.
			s.conf = natsConfigEnv(t, natsConfPath(t, s), interpolateAll(composeEnv(s.def)))
			c.nats = append(c.nats, s)
		case ctx != "" && filepath.Clean(filepath.Join(composeDir, ctx)) == filepath.Clean(repoRoot):
			c.newsflash = append(c.newsflash, s)
		case strings.HasPrefix(image, "nginx:"):
			proxies = append(proxies, s)
		case strings.HasPrefix(image, "prom/prometheus:"):
			c.prometheus = append(c.prometheus, s)
		default:
			t.Errorf("%s: service %s is neither NATS, nor Newsflash built from this repository, nor nginx, nor Prometheus", composeFile, name)
		}
	}
	if len(c.nats) != 3 || len(c.newsflash) < 2 || len(proxies) != 1 {
		t.Fatalf("%s: want 3 NATS servers, 2 or more Newsflash instances and one nginx; have %d, %d, %d", composeFile, len(c.nats), len(c.newsflash), len(proxies))
	}
	c.proxy = proxies[0]
	return c
}

type composeVolume struct {
	kind, source, target string
	readOnly             bool
}

// composeVolumes reads a service's volumes, short or long syntax.
func composeVolumes(svc map[string]any) []composeVolume {
	var out []composeVolume
	for _, v := range list(svc, "volumes") {
		if s, ok := v.(string); ok {
			parts := strings.Split(s, ":")
			cv := composeVolume{kind: "volume", source: parts[0]}
			if len(parts) > 1 {
				cv.target = parts[1]
			}
			if strings.HasPrefix(cv.source, ".") || strings.HasPrefix(cv.source, "/") {
				cv.kind = "bind"
			}
			cv.readOnly = len(parts) > 2 && strings.Contains(parts[2], "ro")
			out = append(out, cv)
			continue
		}
		out = append(out, composeVolume{kind: str(v, "type"), source: str(v, "source"), target: str(v, "target"), readOnly: node(v, "read_only") == true})
	}
	return out
}

// natsConfPath returns the host file a NATS service runs with: the mount
// at the path given to --config.
func natsConfPath(t *testing.T, s composeService) string {
	t.Helper()
	cmd := composeCommand(s.def)
	i := slices.IndexFunc(cmd, func(a string) bool { return a == "--config" || a == "-c" })
	if i < 0 || i+1 >= len(cmd) {
		t.Fatalf("%s: %s: the command %q gives no --config", composeFile, s.name, cmd)
	}
	for _, v := range composeVolumes(s.def) {
		if v.target == cmd[i+1] && v.kind == "bind" {
			return filepath.Join(composeDir, v.source)
		}
	}
	t.Fatalf("%s: %s: nothing is mounted at its --config %s", composeFile, s.name, cmd[i+1])
	return ""
}

// composeCommand reads a command in list or string form.
func composeCommand(svc map[string]any) []string {
	if s, ok := node(svc, "command").(string); ok {
		return strings.Fields(s)
	}
	return stringList(list(svc, "command"))
}

// composeEnv reads environment in map or list form, values uninterpolated.
func composeEnv(svc map[string]any) map[string]string {
	env := map[string]string{}
	for k, v := range obj(svc, "environment") {
		env[k] = str(v)
	}
	for _, kv := range stringList(list(svc, "environment")) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

func itoa(n int) string { return strconv.Itoa(n) }

var vapidVars = []string{"NEWSFLASH_VAPID_SUBJECT", "NEWSFLASH_VAPID_PUBLIC_KEY", "NEWSFLASH_VAPID_PRIVATE_KEY"}

func TestComposeNewsflash(t *testing.T) {
	c := loadCompose(t)
	flags := serveFlags(t)
	ep := imageEntrypoint(t)
	first := c.newsflash[0]
	for _, s := range c.newsflash {
		where := composeFile + ": " + s.name
		if node(s.def, "entrypoint") != nil {
			t.Errorf("%s: keep the image's entrypoint; give flags in command", where)
		}
		args := serveArgs(t, where, append(slices.Clone(ep[1:]), composeCommand(s.def)...), flags)
		env := composeEnv(s.def)
		checkEnv(t, where, env, args, flags)
		get := func(name string) string { return setting(flags, args, env, name) }

		// One cluster, shared.
		if get("nats-url") == "" {
			t.Fatalf("%s: no --nats-url: the instance would run an embedded NATS of its own", where)
		}
		for _, u := range natsURLs(t, where, get("nats-url")) {
			peer, ok := c.natsByName(u.Hostname())
			if !ok {
				t.Errorf("%s: --nats-url host %s is not a NATS service", where, u.Hostname())
			} else if u.Port() != itoa(peer.conf.Port) {
				t.Errorf("%s: --nats-url %s, but %s listens for clients on %d", where, u, peer.name, peer.conf.Port)
			}
		}
		if r := num(get("nats-replicas")); r < 3 || r > len(c.nats) {
			t.Errorf("%s: --nats-replicas %s: want 3, on the %d NATS servers", where, get("nats-replicas"), len(c.nats))
		}

		// The same editors and VAPID keys as the first instance: the whole
		// configuration is the same.
		for _, v := range vapidVars {
			if _, ok := env[v]; !ok {
				t.Errorf("%s: %s is not set", where, v)
			}
		}
		if !slices.Equal(composeCommand(s.def), composeCommand(first.def)) {
			t.Errorf("%s: the command differs from %s's", where, first.name)
		}
		for k, v := range env {
			if composeEnv(first.def)[k] != v {
				t.Errorf("%s: %s differs from %s's", where, k, first.name)
			}
		}
		if len(env) != len(composeEnv(first.def)) {
			t.Errorf("%s: the environment differs from %s's", where, first.name)
		}

		editors := get("editors")
		if editors == "" {
			t.Errorf("%s: no --editors: each instance would make its own bootstrap token", where)
		} else if i := slices.IndexFunc(composeVolumes(s.def), func(v composeVolume) bool {
			return v.kind == "bind" && (v.target == editors || v.target == path.Dir(editors)) && v.readOnly
		}); i < 0 {
			t.Errorf("%s: --editors %s is not a read-only bind mount", where, editors)
		} else if src := filepath.Join(composeDir, composeVolumes(s.def)[i].source); !exists(src + ".example") {
			t.Errorf("%s: the editors file %s has no %s.example to start from", where, src, src)
		}

		// Docker waits long enough for a graceful stop.
		shutdown := duration(t, where, get("shutdown-timeout"))
		if g := str(s.def, "stop_grace_period"); g == "" || duration(t, where, g) <= shutdown {
			t.Errorf("%s: stop_grace_period %q is not longer than --shutdown-timeout %s (Docker's default is 10s)", where, g, shutdown)
		}

		// The image is distroless: a healthcheck could run no shell, curl
		// or wget, and nothing may wait for one.
		if hc := obj(s.def, "healthcheck"); hc != nil && hc["disable"] != true {
			t.Errorf("%s: a healthcheck cannot run in the distroless image", where)
		}
		for _, n := range c.nats {
			if str(s.def, "depends_on", n.name, "condition") != "service_healthy" || obj(n.def, "healthcheck") == nil {
				t.Errorf("%s: does not wait for %s to be healthy", where, n.name)
			}
		}
	}
	for _, other := range c.newsflash {
		if str(c.proxy.def, "depends_on", other.name, "condition") == "service_healthy" {
			t.Errorf("%s: %s waits for %s to be healthy, which has no healthcheck", composeFile, c.proxy.name, other.name)
		}
	}
}

var interpolation = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`)

// TestComposeEnvExample checks that .env.example defines every variable the
// compose file interpolates, among them the three VAPID ones.
func TestComposeEnvExample(t *testing.T) {
	raw, err := os.ReadFile(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile(filepath.Join(composeDir, ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]bool{}
	for line := range strings.Lines(string(example)) {
		if k, _, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.HasPrefix(k, "#") {
			defined[k] = true
		}
	}
	used := map[string]bool{}
	for _, m := range interpolation.FindAllStringSubmatch(string(raw), -1) {
		used[m[1]] = true
		if !defined[m[1]] {
			t.Errorf("%s uses ${%s}, which .env.example does not define", composeFile, m[1])
		}
	}
	for _, v := range vapidVars {
		if !used[v] {
			t.Errorf("%s: %s does not come from .env", composeFile, v)
		}
	}
}

func TestComposeProxy(t *testing.T) {
	c := loadCompose(t)
	flags := serveFlags(t)
	where := composeFile + ": " + c.proxy.name
	var conf string
	for _, v := range composeVolumes(c.proxy.def) {
		if v.kind == "bind" && v.target == "/etc/nginx/nginx.conf" {
			conf = filepath.Join(composeDir, v.source)
		}
	}
	if conf == "" {
		t.Fatalf("%s: no nginx config mounted", where)
	}
	data, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	text := stripComments(string(data))

	// The upstream is every Newsflash instance, on the port it listens on.
	up := block(t, conf, text, `upstream\s+\S+`)
	if !strings.Contains(up, "least_conn;") {
		t.Errorf("%s: the upstream does not balance by least_conn", conf)
	}
	servers := regexp.MustCompile(`(?m)^\s*server\s+([^:\s]+):(\d+)`).FindAllStringSubmatch(up, -1)
	var hosts []string
	for _, m := range servers {
		hosts = append(hosts, m[1])
		s := slices.IndexFunc(c.newsflash, func(s composeService) bool { return s.name == m[1] })
		if s < 0 {
			t.Errorf("%s: upstream server %s is not a Newsflash service", conf, m[1])
			continue
		}
		args := serveArgs(t, where, append(slices.Clone(imageEntrypoint(t)[1:]), composeCommand(c.newsflash[s].def)...), flags)
		if port := addrPort(t, m[1], setting(flags, args, composeEnv(c.newsflash[s].def), "addr")); m[2] != itoa(port) {
			t.Errorf("%s: upstream %s:%s, but %s listens on %d", conf, m[1], m[2], m[1], port)
		}
	}
	for _, s := range c.newsflash {
		if !slices.Contains(hosts, s.name) {
			t.Errorf("%s: the upstream leaves out %s", conf, s.name)
		}
	}

	// Two connections per reader: the image's 1024 would cap it near 500.
	if m := regexp.MustCompile(`worker_connections\s+(\d+);`).FindStringSubmatch(text); m == nil || num(m[1]) < 4096 {
		t.Errorf("%s: want worker_connections of 4096 or more", conf)
	}
	if !regexp.MustCompile(`client_max_body_size\s+64k;`).MatchString(text) {
		t.Errorf("%s: want client_max_body_size 64k (Newsflash's own limit)", conf)
	}
	for loc, want := range map[string][]string{
		"/api/v1/ws": {`proxy_http_version\s+1\.1;`, `proxy_set_header\s+Upgrade\s+\$http_upgrade;`,
			`proxy_set_header\s+Connection\s+\$connection_upgrade;`, `proxy_read_timeout\s+1h;`,
			`proxy_set_header\s+X-Forwarded-For\s+\$proxy_add_x_forwarded_for;`, `proxy_set_header\s+X-Real-IP\s+\$remote_addr;`,
			`proxy_set_header\s+Host\s+\$http_host;`},
		"/api/v1/sse": {`proxy_buffering\s+off;`, `proxy_cache\s+off;`, `proxy_read_timeout\s+1h;`, `chunked_transfer_encoding\s+on;`,
			`proxy_set_header\s+X-Forwarded-For\s+\$proxy_add_x_forwarded_for;`, `proxy_set_header\s+X-Real-IP\s+\$remote_addr;`,
			`proxy_set_header\s+Host\s+\$http_host;`},
		"/": {`proxy_set_header\s+X-Forwarded-For\s+\$proxy_add_x_forwarded_for;`, `proxy_set_header\s+Host\s+\$http_host;`},
	} {
		b := block(t, conf, text, `location\s+(=\s+)?`+regexp.QuoteMeta(loc))
		if !strings.Contains(b, "proxy_pass http://") {
			t.Errorf("%s: location %s does not proxy", conf, loc)
		}
		for _, w := range want {
			if !regexp.MustCompile(w).MatchString(b) {
				t.Errorf("%s: location %s lacks %s", conf, loc, strings.ReplaceAll(w, `\s+`, " "))
			}
		}
	}
	if len(list(c.proxy.def, "ports")) == 0 {
		t.Errorf("%s: publishes no port", where)
	}

	// Metrics are not served to the public through nginx: a client on the
	// host's loopback comes from Docker's gateway, a private address.
	if m := block(t, conf, text, `location\s+=\s+/metrics`); strings.Contains(m, "proxy_pass") ||
		!regexp.MustCompile(`(deny\s+all|return\s+(403|404))\s*;`).MatchString(m) {
		t.Errorf("%s: location = /metrics must deny all (or return 403 or 404), not proxy", conf)
	}
}

// composeNetworks returns the networks a service is on, each with the fixed
// IPv4 address the service has there ("" for none).
func composeNetworks(svc map[string]any) map[string]string {
	nets := map[string]string{}
	switch n := node(svc, "networks").(type) {
	case nil:
		nets["default"] = ""
	case []any:
		for _, name := range stringList(n) {
			nets[name] = ""
		}
	case map[string]any:
		for name, v := range n {
			nets[name] = str(v, "ipv4_address")
		}
	}
	return nets
}

// TestComposeClientAddresses checks that Newsflash sees each client behind
// nginx: nginx has a fixed address in a fixed subnet, every instance trusts
// that address (and nothing outside the subnet, nor Docker's gateway), and
// the limits per address are left at their defaults.
func TestComposeClientAddresses(t *testing.T) {
	c := loadCompose(t)
	flags := serveFlags(t)
	ep := imageEntrypoint(t)
	where := composeFile + ": " + c.proxy.name

	var netName string
	var proxyAddr netip.Addr
	for name, a := range composeNetworks(c.proxy.def) {
		if a == "" {
			continue
		}
		addr, err := netip.ParseAddr(a)
		if err != nil {
			t.Fatalf("%s: ipv4_address %q on %s: %v", where, a, name, err)
		}
		netName, proxyAddr = name, addr
	}
	if !proxyAddr.IsValid() {
		t.Fatalf("%s: no fixed ipv4_address: Newsflash could not trust nginx alone", where)
	}
	var subnet, ipRange netip.Prefix
	var gateway netip.Addr
	for _, cfg := range list(c.networks, netName, "ipam", "config") {
		if p, err := netip.ParsePrefix(str(cfg, "subnet")); err == nil && p.Contains(proxyAddr) {
			subnet = p
			gateway, _ = netip.ParseAddr(str(cfg, "gateway"))
			ipRange, _ = netip.ParsePrefix(str(cfg, "ip_range"))
		}
	}
	if !subnet.IsValid() {
		t.Fatalf("%s: network %s has no ipam subnet holding nginx's address %s", composeFile, netName, proxyAddr)
	}
	if !gateway.IsValid() {
		gateway = subnet.Masked().Addr().Next() // Docker's default
	}
	if !isPrivate(subnet) {
		t.Errorf("%s: subnet %s is not private: Prometheus on it would be refused /metrics by the default --metrics-allow", composeFile, subnet)
	}
	if !ipRange.IsValid() || ipRange.Contains(proxyAddr) || !subnet.Contains(ipRange.Addr()) {
		t.Errorf("%s: network %s wants an ip_range inside %s and outside nginx's %s, or another container may be given that address first", composeFile, netName, subnet, proxyAddr)
	}

	for _, s := range c.newsflash {
		where := composeFile + ": " + s.name
		if _, on := composeNetworks(s.def)[netName]; !on {
			t.Errorf("%s: not on the network %s, where nginx is", where, netName)
		}
		args := serveArgs(t, where, append(slices.Clone(ep[1:]), composeCommand(s.def)...), flags)
		get := func(name string) string { return setting(flags, args, composeEnv(s.def), name) }
		trusted := checkClientAddresses(t, where, get, flags)
		if !slices.ContainsFunc(trusted, func(p netip.Prefix) bool { return p.Contains(proxyAddr) }) {
			t.Errorf("%s: --trusted-proxies %s leaves out nginx's address %s", where, get("trusted-proxies"), proxyAddr)
		}
		for _, p := range trusted {
			if p.Bits() < subnet.Bits() || !subnet.Contains(p.Addr()) {
				t.Errorf("%s: --trusted-proxies %s reaches outside the compose network %s", where, p, subnet)
			}
			if p.Contains(gateway) {
				t.Errorf("%s: --trusted-proxies %s holds Docker's gateway %s: a client whose connection comes through it could put any address in X-Forwarded-For", where, p, gateway)
			}
		}
	}
}

// block returns the body of the first nginx block whose header matches re.
func block(t *testing.T, file, text, re string) string {
	t.Helper()
	loc := regexp.MustCompile(re + `\s*\{`).FindStringIndex(text)
	if loc == nil {
		t.Fatalf("%s: no block %s", file, re)
	}
	depth := 0
	for i := loc[1] - 1; i < len(text); i++ {
		switch text[i] {
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				return text[loc[1]:i]
			}
		}
	}
	t.Fatalf("%s: block %s is not closed", file, re)
	return ""
}

// stripComments drops nginx # comments (none of ours is inside a string).
func stripComments(s string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i] + "\n"
		}
		b.WriteString(line)
	}
	return b.String()
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestComposePrometheus checks the optional Prometheus: started only with a
// profile, published on loopback only, scraping every Newsflash instance
// directly under the job name the alert rules select, with those rules.
func TestComposePrometheus(t *testing.T) {
	c := loadCompose(t)
	if len(c.prometheus) != 1 {
		t.Fatalf("%s: want one Prometheus service, have %d", composeFile, len(c.prometheus))
	}
	flags := serveFlags(t)
	ep := imageEntrypoint(t)
	s := c.prometheus[0]
	where := composeFile + ": " + s.name
	if len(list(s.def, "profiles")) == 0 {
		t.Errorf("%s: no profiles: \"docker compose up\" would start it for everyone", where)
	}
	for _, p := range stringList(list(s.def, "ports")) {
		if !strings.HasPrefix(p, "127.0.0.1:") {
			t.Errorf("%s: port %s is not on the loopback address only (Prometheus has no authentication)", where, p)
		}
	}

	// The config and rule files are the mounted ones.
	mounted := func(target string) string {
		for _, v := range composeVolumes(s.def) {
			if v.kind == "bind" && v.target == target {
				return filepath.ToSlash(filepath.Clean(filepath.Join(composeDir, v.source)))
			}
		}
		return ""
	}
	confPath := "/etc/prometheus/prometheus.yml"
	for _, a := range composeCommand(s.def) {
		if v, ok := strings.CutPrefix(a, "--config.file="); ok {
			confPath = v
		}
	}
	conf := mounted(confPath)
	if conf == "" {
		t.Fatalf("%s: nothing is mounted at its config %s", where, confPath)
	}
	cfg := yamlDocs(t, conf)[0]
	var rules []string
	for _, r := range stringList(list(cfg, "rule_files")) {
		rules = append(rules, mounted(r))
	}
	if !slices.Contains(rules, alertsFile) {
		t.Errorf("%s: rule_files %q do not load %s", conf, stringList(list(cfg, "rule_files")), alertsFile)
	}

	// One job scrapes every instance at the port it listens on, under the
	// job name the alert rules select.
	job := alertsJob(t)
	var targets []string
	for _, sc := range list(cfg, "scrape_configs") {
		if str(sc, "job_name") != job {
			continue
		}
		if p := str(sc, "metrics_path"); p != "" && p != "/metrics" {
			t.Errorf("%s: job %s scrapes %s, not /metrics", conf, job, p)
		}
		for _, st := range list(sc, "static_configs") {
			targets = append(targets, stringList(list(st, "targets"))...)
		}
	}
	var want []string
	for _, nf := range c.newsflash {
		args := serveArgs(t, composeFile+": "+nf.name, append(slices.Clone(ep[1:]), composeCommand(nf.def)...), flags)
		want = append(want, nf.name+":"+itoa(addrPort(t, nf.name, setting(flags, args, composeEnv(nf.def), "addr"))))
		if !slices.ContainsFunc(slices.Collect(maps.Keys(composeNetworks(nf.def))), func(n string) bool {
			_, on := composeNetworks(s.def)[n]
			return on
		}) {
			t.Errorf("%s: shares no network with %s", where, nf.name)
		}
	}
	slices.Sort(targets)
	slices.Sort(want)
	if !slices.Equal(targets, want) {
		t.Errorf("%s: job %q scrapes %q; want every Newsflash instance directly, %q", conf, job, targets, want)
	}
}
