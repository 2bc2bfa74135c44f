package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsVarRef is a $VARIABLE in a NATS config, which nats-server takes from
// the environment when the config does not define it.
var natsVarRef = regexp.MustCompile(`\$([A-Za-z_][A-Za-z0-9_]*)`)

// natsConfigEnv parses a NATS config whose $VARIABLES come from env; with
// a nil env, each gets a made-up value, testValue(name).
func natsConfigEnv(t *testing.T, path string, env map[string]string) *server.Options {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range natsVarRef.FindAllStringSubmatch(stripComments(string(raw)), -1) {
		v, ok := env[m[1]]
		if env == nil {
			v, ok = testValue(m[1]), true
		}
		if !ok {
			t.Errorf("%s uses $%s, which its environment does not set", path, m[1])
			continue
		}
		t.Setenv(m[1], v)
	}
	opts := &server.Options{}
	if err := opts.ProcessConfigFile(path); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return opts
}

func testValue(name string) string { return "test-value-of-" + name }

// runNATSFrom runs a real nats-server with a parsed config, alone: no
// cluster, no monitoring port, a loopback client port of its own.
func runNATSFrom(t *testing.T, o *server.Options) string {
	t.Helper()
	o = o.Clone()
	o.Host, o.Port, o.HTTPPort = "127.0.0.1", -1, 0
	o.Cluster, o.Routes, o.RoutesStr = server.ClusterOpts{}, nil, ""
	o.StoreDir = t.TempDir()
	o.NoLog, o.NoSigs = true, true
	ns, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns.ClientURL()
}

// checkNATSAuth runs the config and checks that it admits no one without a
// user and password, that user (Newsflash's) gets JetStream, and that the
// system account is another one.
func checkNATSAuth(t *testing.T, where string, o *server.Options, user, password string) {
	t.Helper()
	if o.NoAuthUser != "" {
		t.Errorf("%s: no_auth_user %q lets clients in without credentials", where, o.NoAuthUser)
	}
	if o.SystemAccount == "" {
		t.Errorf("%s: no system_account: name one of its own, apart from Newsflash's", where)
	}
	i := slices.IndexFunc(o.Users, func(u *server.User) bool { return u.Username == user })
	if i < 0 {
		t.Fatalf("%s: no user %q (Newsflash's)", where, user)
	}
	if acc := o.Users[i].Account; acc == nil || acc.Name == o.SystemAccount || acc.Name == server.DEFAULT_SYSTEM_ACCOUNT {
		t.Errorf("%s: user %s is in the system account: give Newsflash an account of its own", where, user)
	}

	url := runNATSFrom(t, o)
	if nc, err := nats.Connect(url, nats.Timeout(5*time.Second)); err == nil {
		nc.Close()
		t.Errorf("%s: a client without credentials connected", where)
	}
	if nc, err := nats.Connect(url, nats.UserInfo(user, password+"-wrong"), nats.Timeout(5*time.Second)); err == nil {
		nc.Close()
		t.Errorf("%s: a client with a wrong password connected", where)
	}
	nc, err := nats.Connect(url, nats.UserInfo(user, password), nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("%s: Newsflash's user %s cannot connect with its password: %v", where, user, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.AccountInfo(ctx); err != nil {
		t.Errorf("%s: user %s has no JetStream: %v", where, user, err)
	}
}

// TestEveryNATSConfigRequiresAuth: each NATS config has a user whose
// password comes from the environment, in a JetStream account apart from
// the system account, and no one else gets in.
func TestEveryNATSConfigRequiresAuth(t *testing.T) {
	for _, p := range natsConfFiles(t) {
		o := natsConfigEnv(t, p, nil)
		var user *server.User
		for _, u := range o.Users {
			if u.Account != nil && u.Account.Name != o.SystemAccount && strings.HasPrefix(u.Password, testValue("")) {
				user = u
			}
		}
		if user == nil {
			t.Errorf("%s: no user outside the system account with a password from the environment ($VARIABLE)", p)
			continue
		}
		checkNATSAuth(t, p, o, user.Username, user.Password)
	}
}

// composeInterpolation is ${NAME}, ${NAME?err}, ${NAME:?err}, ...
var composeInterpolation = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}`)

// interpolate gives each ${NAME} of a compose value the value testValue(NAME).
func interpolate(s string) string {
	return composeInterpolation.ReplaceAllStringFunc(s, func(m string) string {
		return testValue(composeInterpolation.FindStringSubmatch(m)[1])
	})
}

func interpolateAll(env map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		out[k] = interpolate(v)
	}
	return out
}

// TestComposeNATSAuth: the NATS servers take Newsflash's user and password
// from .env, as the Newsflash instances do, and refuse anyone else.
func TestComposeNATSAuth(t *testing.T) {
	c := loadCompose(t)
	for _, nf := range c.newsflash {
		where := composeFile + ": " + nf.name
		env := composeEnv(nf.def)
		user, password := interpolate(env["NEWSFLASH_NATS_USER"]), interpolate(env["NEWSFLASH_NATS_PASSWORD"])
		if user == "" || password == "" {
			t.Fatalf("%s: NEWSFLASH_NATS_USER and NEWSFLASH_NATS_PASSWORD are not both set", where)
		}
		if m := composeInterpolation.FindStringSubmatch(env["NEWSFLASH_NATS_PASSWORD"]); m == nil || !strings.HasPrefix(m[2], ":?") {
			t.Errorf("%s: NEWSFLASH_NATS_PASSWORD %q: want it from .env as ${NAME:?message}, so that an empty one is refused", where, env["NEWSFLASH_NATS_PASSWORD"])
		}
		for _, n := range c.nats {
			checkNATSAuth(t, where+" on "+n.name, n.conf, user, password)
		}
	}
	for _, n := range c.nats {
		for k, v := range composeEnv(n.def) {
			if m := composeInterpolation.FindStringSubmatch(v); m != nil && !strings.HasPrefix(m[2], ":?") {
				t.Errorf("%s: %s: %s %q: want ${NAME:?message}, so that an empty one is refused", composeFile, n.name, k, v)
			}
		}
	}
}

// secretRef names a Secret key as a made-up value, the same wherever the
// key is used.
func secretRef(e any) (string, bool) {
	r := obj(e, "valueFrom", "secretKeyRef")
	if r == nil {
		return "", false
	}
	return "secret:" + str(r, "name") + "/" + str(r, "key"), true
}

// TestNATSHelmAuth: the chart's servers (config.merge, as the chart writes
// it) take Newsflash's user and password from the Secret the Newsflash
// pods read them from, and refuse anyone else.
func TestNATSHelmAuth(t *testing.T) {
	v := yamlDocs(t, helmValues)[0]
	ms := k8sManifests(t)

	// The server's environment, with each Secret key as secretRef.
	env := map[string]string{}
	for name, e := range obj(v, "container", "env") {
		if s, ok := e.(string); ok {
			env[name] = s
			continue
		}
		ref, ok := secretRef(e)
		if !ok {
			t.Errorf("%s: container.env.%s is neither a value nor a secretKeyRef", helmValues, name)
			continue
		}
		env[name] = ref
		r := obj(e, "valueFrom", "secretKeyRef")
		if m, ok := lookup(ms, "Secret", str(r, "name")); !ok || !slices.Contains(dataKeys(m), str(r, "key")) {
			t.Errorf("%s: container.env.%s comes from Secret %s key %s, which secret.example.yaml does not show", helmValues, name, str(r, "name"), str(r, "key"))
		}
	}

	// The chart writes config.merge into the server's config, strings
	// between << and >> unquoted.
	conf := map[string]any{"server_name": "helm", "jetstream": map[string]any{"store_dir": "/data"}}
	for k, val := range obj(v, "config", "merge") {
		conf[k] = val
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(conf); err != nil {
		t.Fatal(err)
	}
	raw := regexp.MustCompile(`"<< (.*?) >>"`).ReplaceAll(buf.Bytes(), []byte("$1"))
	path := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	o := natsConfigEnv(t, path, env)

	p := newsflashPod(t, ms)
	creds := map[string]string{}
	for _, e := range list(p.container, "env") {
		if name := str(e, "name"); name == "NEWSFLASH_NATS_USER" || name == "NEWSFLASH_NATS_PASSWORD" {
			if ref, ok := secretRef(e); ok {
				creds[name] = ref
			} else {
				t.Errorf("%s: %s does not come from a Secret", p.dep.file, name)
			}
		}
	}
	if len(creds) != 2 {
		t.Fatalf("%s: want NEWSFLASH_NATS_USER and NEWSFLASH_NATS_PASSWORD from a Secret, have %v", p.dep.file, creds)
	}
	// The user is a Secret key too: the made-up value stands for it.
	checkNATSAuth(t, helmValues+" (config.merge, as nats-server reads it)", o, creds["NEWSFLASH_NATS_USER"], creds["NEWSFLASH_NATS_PASSWORD"])
}

// TestKubernetesNATSNetworkPolicy: only Newsflash pods (and the chart's
// nats-box, for operators) reach the NATS client port; the route port is
// for the NATS servers alone.
func TestKubernetesNATSNetworkPolicy(t *testing.T) {
	ms := k8sManifests(t)
	v := yamlDocs(t, helmValues)[0]
	// The labels the chart (1.x) gives its server and nats-box pods.
	name := str(v, "nameOverride")
	if name == "" {
		name = "nats"
	}
	natsPod := map[string]any{"app.kubernetes.io/name": name, "app.kubernetes.io/instance": "nats", "app.kubernetes.io/component": "nats"}
	boxPod := map[string]any{"app.kubernetes.io/name": name, "app.kubernetes.io/instance": "nats", "app.kubernetes.io/component": "nats-box"}
	nf := newsflashPod(t, ms)
	selects := func(sel map[string]any, labels map[string]any) bool {
		if len(sel) == 0 {
			return true // an empty selector selects every pod
		}
		for k, want := range sel {
			if labels[k] != want {
				return false
			}
		}
		return true
	}

	var policy *manifest
	for _, m := range byKind(ms, "NetworkPolicy") {
		if selects(obj(m.doc, "spec", "podSelector", "matchLabels"), natsPod) && len(list(m.doc, "spec", "podSelector", "matchExpressions")) == 0 {
			policy = &m
		}
	}
	if policy == nil {
		t.Fatalf("no NetworkPolicy in %s/ selects the NATS server pods (labels %v)", k8sDir, natsPod)
	}
	where := policy.file
	sel := obj(policy.doc, "spec", "podSelector", "matchLabels")
	if len(sel) == 0 || selects(sel, nf.labels) || selects(sel, boxPod) {
		t.Errorf("%s: podSelector %v must select the NATS servers only, not Newsflash or nats-box", where, sel)
	}
	if !slices.Contains(stringList(list(policy.doc, "spec", "policyTypes")), "Ingress") {
		t.Errorf("%s: policyTypes lacks Ingress", where)
	}

	// Who may reach a port: every rule that covers it (a rule without
	// ports covers all), by its sources.
	reach := func(port int, portName string) (froms [][]any, open bool) {
		for _, r := range list(policy.doc, "spec", "ingress") {
			ports := list(r, "ports")
			covers := len(ports) == 0 || slices.ContainsFunc(ports, func(p any) bool {
				return num(p, "port") == port || str(p, "port") == portName
			})
			if !covers {
				continue
			}
			from := list(r, "from")
			if len(from) == 0 {
				return nil, true
			}
			froms = append(froms, from)
		}
		return froms, false
	}
	for _, c := range []struct {
		port    int
		name    string
		allowed []map[string]any
		need    map[string]any
	}{
		{4222, "nats", []map[string]any{nf.labels, boxPod}, nf.labels},
		{6222, "cluster", []map[string]any{natsPod}, natsPod},
	} {
		froms, open := reach(c.port, c.name)
		if open {
			t.Errorf("%s: a rule lets anyone reach port %d", where, c.port)
			continue
		}
		needMet := false
		for _, from := range froms {
			for _, peer := range from {
				if node(peer, "namespaceSelector") != nil || node(peer, "ipBlock") != nil {
					t.Errorf("%s: port %d is open to %v: only pods of this namespace, by podSelector", where, c.port, peer)
					continue
				}
				ps := obj(peer, "podSelector", "matchLabels")
				if len(ps) == 0 || len(list(peer, "podSelector", "matchExpressions")) > 0 {
					t.Errorf("%s: port %d is open to the pods %v: name them by matchLabels", where, c.port, peer)
					continue
				}
				if !slices.ContainsFunc(c.allowed, func(l map[string]any) bool { return selects(ps, l) }) {
					t.Errorf("%s: port %d is open to pods %v, which are none of %v", where, c.port, ps, c.allowed)
				}
				if selects(ps, c.need) {
					needMet = true
				}
			}
		}
		if !needMet {
			t.Errorf("%s: no rule lets the pods %v reach port %d", where, c.need, c.port)
		}
	}
}
