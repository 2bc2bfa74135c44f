package deploy

import (
	"maps"
	"path"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	k8sDir       = "kubernetes"
	k8sNamespace = "newsflash"
	helmValues   = "kubernetes/nats-values.yaml"

	// readyzNATSTimeout is how long /readyz waits for NATS before answering
	// 503 (internal/server/routes.go); the probe must wait longer.
	readyzNATSTimeout = 2 * time.Second
)

type manifest struct {
	file string
	doc  map[string]any
}

func (m manifest) kind() string { return str(m.doc, "kind") }
func (m manifest) name() string { return str(m.doc, "metadata", "name") }

// k8sManifests parses every Kubernetes document under kubernetes/ (all its
// YAML files but the Helm values).
func k8sManifests(t *testing.T) []manifest {
	t.Helper()
	var ms []manifest
	for _, p := range files(t, ".yaml", ".yml") {
		if !strings.HasPrefix(p, k8sDir+"/") || p == helmValues {
			continue
		}
		for _, d := range yamlDocs(t, p) {
			ms = append(ms, manifest{p, d})
		}
	}
	if len(ms) == 0 {
		t.Fatal("no Kubernetes manifests found")
	}
	return ms
}

// byKind returns the manifests of one kind.
func byKind(ms []manifest, kind string) []manifest {
	var out []manifest
	for _, m := range ms {
		if m.kind() == kind {
			out = append(out, m)
		}
	}
	return out
}

func lookup(ms []manifest, kind, name string) (manifest, bool) {
	for _, m := range ms {
		if m.kind() == kind && m.name() == name {
			return m, true
		}
	}
	return manifest{}, false
}

// one returns the single manifest of a kind.
func one(t *testing.T, ms []manifest, kind string) manifest {
	t.Helper()
	got := byKind(ms, kind)
	if len(got) != 1 {
		t.Fatalf("want one %s, found %d", kind, len(got))
	}
	return got[0]
}

// dataKeys lists the keys of a Secret or ConfigMap.
func dataKeys(m manifest) []string {
	var keys []string
	for _, f := range []string{"data", "stringData", "binaryData"} {
		for k := range obj(m.doc, f) {
			keys = append(keys, k)
		}
	}
	return keys
}

func TestKubernetesManifestsAreComplete(t *testing.T) {
	ms := k8sManifests(t)
	for _, m := range ms {
		where := m.file + ": " + m.kind() + " " + m.name()
		if str(m.doc, "apiVersion") == "" || m.kind() == "" {
			t.Errorf("%s: a document without apiVersion or kind", m.file)
			continue
		}
		if m.kind() == "Kustomization" {
			continue // kustomize's own file has no metadata
		}
		if m.name() == "" {
			t.Errorf("%s: no metadata.name", where)
		}
		if m.kind() == "Namespace" {
			if m.name() != k8sNamespace {
				t.Errorf("%s: want namespace %s", where, k8sNamespace)
			}
		} else if ns := str(m.doc, "metadata", "namespace"); ns != k8sNamespace {
			t.Errorf("%s: metadata.namespace %q, want %q", where, ns, k8sNamespace)
		}
	}
	for _, kind := range []string{"Namespace", "Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "ConfigMap", "Secret", "Ingress", "NetworkPolicy"} {
		if len(byKind(ms, kind)) == 0 {
			t.Errorf("no %s in %s/", kind, k8sDir)
		}
	}

	// The kustomization applies every manifest, except the examples: the
	// Secrets (which would overwrite the real ones) and the ServiceMonitor
	// (which needs the Prometheus Operator).
	k := one(t, ms, "Kustomization")
	listed := stringList(list(k.doc, "resources"))
	for _, r := range listed {
		if !slices.ContainsFunc(ms, func(m manifest) bool { return m.file == path.Join(k8sDir, r) }) {
			t.Errorf("%s lists %s, which is not a manifest here", k.file, r)
		}
	}
	seen := map[string]bool{}
	for _, m := range ms {
		base := strings.TrimPrefix(m.file, k8sDir+"/")
		if seen[base] || m.kind() == "Kustomization" {
			continue
		}
		seen[base] = true
		example := strings.Contains(base, ".example.")
		if in := slices.Contains(listed, base); in == example {
			if example {
				t.Errorf("%s lists %s: an example is not to be applied as it is (it would overwrite the real Secrets, or need CRDs)", k.file, base)
			} else {
				t.Errorf("%s does not list %s", k.file, base)
			}
		}
	}
}

// pod is the Deployment's pod template and its one container.
type pod struct {
	dep       manifest
	spec      map[string]any
	labels    map[string]any
	container map[string]any
	ports     map[string]int // container ports by name
}

func newsflashPod(t *testing.T, ms []manifest) pod {
	t.Helper()
	dep := one(t, ms, "Deployment")
	p := pod{dep: dep, spec: obj(dep.doc, "spec", "template", "spec"), labels: obj(dep.doc, "spec", "template", "metadata", "labels"), ports: map[string]int{}}
	cs := list(p.spec, "containers")
	if len(cs) != 1 {
		t.Fatalf("%s: want one container, found %d", dep.file, len(cs))
	}
	p.container, _ = cs[0].(map[string]any)
	for _, cp := range list(p.container, "ports") {
		p.ports[str(cp, "name")] = num(cp, "containerPort")
	}
	return p
}

// port resolves a port given by number or by container port name.
func (p pod) port(v any) int {
	if s, ok := v.(string); ok {
		if n, ok := p.ports[s]; ok {
			return n
		}
	}
	return num(v)
}

// matches reports whether the selector's labels are all on the pod.
func (p pod) matches(selector map[string]any) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if p.labels[k] != v {
			return false
		}
	}
	return true
}

// serveConfig is what the container runs: its serve flags and environment.
type serveConfig struct {
	args, env map[string]string
	flags     map[string]serveFlag
}

func (c serveConfig) get(name string) string { return setting(c.flags, c.args, c.env, name) }

func (p pod) serveConfig(t *testing.T, ms []manifest) serveConfig {
	t.Helper()
	where := p.dep.file
	flags := serveFlags(t)
	ep := imageEntrypoint(t)
	command, args := stringList(list(p.container, "command")), stringList(list(p.container, "args"))
	argv := append(slices.Clone(ep[1:]), args...)
	if len(command) > 0 {
		if command[0] != ep[0] {
			t.Errorf("%s: command %q does not run the image's binary %s", where, command, ep[0])
		}
		argv = append(slices.Clone(command[1:]), args...)
	}
	cfg := serveConfig{args: serveArgs(t, where, argv, flags), env: map[string]string{}, flags: flags}

	for _, e := range list(p.container, "env") {
		name := str(e, "name")
		cfg.env[name] = str(e, "value")
		for kind, ref := range map[string]string{"Secret": "secretKeyRef", "ConfigMap": "configMapKeyRef"} {
			if r := obj(e, "valueFrom", ref); r != nil {
				m, ok := lookup(ms, kind, str(r, "name"))
				if !ok {
					t.Errorf("%s: %s comes from %s %q, which no manifest defines", where, name, kind, str(r, "name"))
				} else if !slices.Contains(dataKeys(m), str(r, "key")) {
					t.Errorf("%s: %s comes from key %q of %s %s, which has no such key", where, name, str(r, "key"), kind, m.name())
				}
			}
		}
	}
	for _, ef := range list(p.container, "envFrom") {
		for kind, ref := range map[string]string{"Secret": "secretRef", "ConfigMap": "configMapRef"} {
			if r := obj(ef, ref); r != nil {
				m, ok := lookup(ms, kind, str(r, "name"))
				if !ok {
					t.Errorf("%s: envFrom %s %q, which no manifest defines", where, kind, str(r, "name"))
					continue
				}
				for k, v := range obj(m.doc, "data") {
					cfg.env[k] = str(v)
				}
			}
		}
	}
	checkEnv(t, where, cfg.env, cfg.args, flags)
	return cfg
}

func TestKubernetesDeployment(t *testing.T) {
	ms := k8sManifests(t)
	p := newsflashPod(t, ms)
	cfg := p.serveConfig(t, ms)
	where := p.dep.file

	// Ports and probes.
	port := addrPort(t, where, cfg.get("addr"))
	if !slices.Contains(slices.Collect(maps.Values(p.ports)), port) {
		t.Errorf("%s: no container port is %d, the port of --addr %s", where, port, cfg.get("addr"))
	}
	for probe, want := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz", "startupProbe": "/healthz"} {
		pr := obj(p.container, probe)
		if pr == nil {
			t.Errorf("%s: no %s", where, probe)
			continue
		}
		if got := str(pr, "httpGet", "path"); got != want {
			t.Errorf("%s: %s asks %q, want %q", where, probe, got, want)
		}
		if got := p.port(node(pr, "httpGet", "port")); got != port {
			t.Errorf("%s: %s asks port %d, but the server listens on %d", where, probe, got, port)
		}
	}
	if ts := orDefault(num(p.container, "readinessProbe", "timeoutSeconds"), 1); time.Duration(ts)*time.Second <= readyzNATSTimeout {
		t.Errorf("%s: readinessProbe timeoutSeconds %d: /readyz may take %s to answer", where, ts, readyzNATSTimeout)
	}
	sp := obj(p.container, "startupProbe")
	budget := time.Duration(orDefault(num(sp, "initialDelaySeconds"), 0)+
		orDefault(num(sp, "periodSeconds"), 10)*orDefault(num(sp, "failureThreshold"), 3)) * time.Second
	if start := duration(t, where, cfg.get("start-timeout")); budget <= start {
		t.Errorf("%s: startupProbe gives up after %s, before --start-timeout %s: a slow but good start would be killed", where, budget, start)
	}

	// Stopping: the grace period covers the preStop sleep and the shutdown.
	grace := time.Duration(orDefault(num(p.spec, "terminationGracePeriodSeconds"), 30)) * time.Second
	preStop := time.Duration(num(p.container, "lifecycle", "preStop", "sleep", "seconds")) * time.Second
	if preStop <= 0 {
		t.Errorf("%s: no lifecycle.preStop.sleep.seconds: the pod would stop before the load balancers stop sending to it", where)
	}
	if shutdown := duration(t, where, cfg.get("shutdown-timeout")); grace <= preStop+shutdown {
		t.Errorf("%s: terminationGracePeriodSeconds %s is not more than preStop %s + --shutdown-timeout %s", where, grace, preStop, shutdown)
	}

	// Rollouts never lower capacity.
	ru := obj(p.dep.doc, "spec", "strategy", "rollingUpdate")
	surge := num(ru, "maxSurge") >= 1 || strings.HasSuffix(str(ru, "maxSurge"), "%")
	if str(ru, "maxUnavailable") != "0" || !surge {
		t.Errorf("%s: want rollingUpdate maxUnavailable 0 and maxSurge 1 or more, have %v", where, ru)
	}
	if n := num(p.dep.doc, "spec", "replicas"); n < 2 {
		t.Errorf("%s: replicas %d, want 2 or more", where, n)
	}
	if !p.matches(obj(p.dep.doc, "spec", "selector", "matchLabels")) {
		t.Errorf("%s: the selector does not match the pod template's labels", where)
	}

	// Several pods share one external NATS, editors and VAPID keys.
	natsURL := cfg.get("nats-url")
	if natsURL == "" {
		t.Errorf("%s: no --nats-url: every pod would run its own embedded NATS", where)
	}
	if r := num(cfg.get("nats-replicas")); r < 3 {
		t.Errorf("%s: --nats-replicas %s, want 3 (R3 on the NATS cluster)", where, cfg.get("nats-replicas"))
	}
	checkHelmTarget(t, where, natsURL, num(cfg.get("nats-replicas")))
	for _, v := range []string{"NEWSFLASH_VAPID_SUBJECT", "NEWSFLASH_VAPID_PUBLIC_KEY", "NEWSFLASH_VAPID_PRIVATE_KEY", "NEWSFLASH_NATS_USER", "NEWSFLASH_NATS_PASSWORD"} {
		if !slices.ContainsFunc(list(p.container, "env"), func(e any) bool {
			return str(e, "name") == v && obj(e, "valueFrom", "secretKeyRef") != nil
		}) {
			t.Errorf("%s: %s does not come from a Secret", where, v)
		}
	}
	editors := cfg.get("editors")
	if editors == "" {
		t.Errorf("%s: no --editors: every pod would make its own bootstrap token", where)
	} else if vol := volumeAt(p, path.Dir(editors)); vol == nil || str(vol, "secret", "secretName") == "" {
		t.Errorf("%s: --editors %s is not in a mounted Secret", where, editors)
	} else if secret, ok := lookup(ms, "Secret", str(vol, "secret", "secretName")); !ok {
		t.Errorf("%s: the editors Secret %q is defined nowhere (secret.example.yaml shows it)", where, str(vol, "secret", "secretName"))
	} else if !slices.ContainsFunc(list(vol, "secret", "items"), func(it any) bool {
		return str(it, "path") == path.Base(editors) && slices.Contains(dataKeys(secret), str(it, "key"))
	}) {
		t.Errorf("%s: the editors Secret volume has no item at %s", where, path.Base(editors))
	}

	// Locked down, with the data directory writable.
	if p.spec["enableServiceLinks"] != false {
		t.Errorf("%s: enableServiceLinks must be false: the Service %q would add NEWSFLASH_* variables", where, "newsflash")
	}
	sc, psc := obj(p.container, "securityContext"), obj(p.spec, "securityContext")
	if sc["runAsNonRoot"] != true && psc["runAsNonRoot"] != true {
		t.Errorf("%s: runAsNonRoot is not set", where)
	}
	if sc["readOnlyRootFilesystem"] != true || sc["allowPrivilegeEscalation"] != false ||
		!slices.Contains(stringList(list(sc, "capabilities", "drop")), "ALL") {
		t.Errorf("%s: want readOnlyRootFilesystem, no privilege escalation and all capabilities dropped: %v", where, sc)
	}
	if vol := volumeAt(p, cfg.get("data-dir")); vol == nil || node(vol, "emptyDir") == nil {
		t.Errorf("%s: --data-dir %s is not an emptyDir, and the root file system is read-only", where, cfg.get("data-dir"))
	}
	res := obj(p.container, "resources")
	for _, r := range []string{"requests.cpu", "requests.memory", "limits.memory"} {
		k, v, _ := strings.Cut(r, ".")
		if str(res, k, v) == "" {
			t.Errorf("%s: no resources.%s", where, r)
		}
	}
	if len(list(p.spec, "topologySpreadConstraints")) == 0 {
		t.Errorf("%s: no topologySpreadConstraints", where)
	}
}

// volumeAt returns the pod volume mounted at dir in the container.
func volumeAt(p pod, dir string) map[string]any {
	for _, vm := range list(p.container, "volumeMounts") {
		if path.Clean(str(vm, "mountPath")) != path.Clean(dir) {
			continue
		}
		for _, v := range list(p.spec, "volumes") {
			if str(v, "name") == str(vm, "name") {
				return v.(map[string]any)
			}
		}
	}
	return nil
}

func TestKubernetesServiceAndIngress(t *testing.T) {
	ms := k8sManifests(t)
	p := newsflashPod(t, ms)
	cfg := p.serveConfig(t, ms)
	port := addrPort(t, p.dep.file, cfg.get("addr"))

	svc := one(t, ms, "Service")
	if !p.matches(obj(svc.doc, "spec", "selector")) {
		t.Errorf("%s: the selector does not match the Deployment's pods", svc.file)
	}
	svcPorts := list(svc.doc, "spec", "ports")
	if len(svcPorts) == 0 {
		t.Fatalf("%s: no ports", svc.file)
	}
	for _, sp := range svcPorts {
		if got := p.port(node(sp, "targetPort")); got != port {
			t.Errorf("%s: port %s goes to %d, but the server listens on %d", svc.file, str(sp, "name"), got, port)
		}
	}

	for _, ing := range byKind(ms, "Ingress") {
		where := ing.file + ": Ingress " + ing.name()
		for _, rule := range list(ing.doc, "spec", "rules") {
			for _, pth := range list(rule, "http", "paths") {
				be := obj(pth, "backend", "service")
				if str(be, "name") != svc.name() {
					t.Errorf("%s: path %s goes to Service %q, not %q", where, str(pth, "path"), str(be, "name"), svc.name())
				}
				name, number := str(be, "port", "name"), num(be, "port", "number")
				if !slices.ContainsFunc(svcPorts, func(sp any) bool {
					return name != "" && str(sp, "name") == name || number > 0 && num(sp, "port") == number
				}) {
					t.Errorf("%s: path %s names a port the Service does not have", where, str(pth, "path"))
				}
			}
		}
	}

	// Readers hold their request for hours, and SSE must not be buffered.
	main, ok := lookup(ms, "Ingress", "newsflash")
	if !ok {
		t.Fatal("no Ingress newsflash")
	}
	ann := obj(main.doc, "metadata", "annotations")
	for _, a := range []string{"proxy-read-timeout", "proxy-send-timeout"} {
		if n := num(ann, "nginx.ingress.kubernetes.io/"+a); n < 3600 {
			t.Errorf("%s: %s is %d s, want an hour or more for WebSocket and SSE readers", main.file, a, n)
		}
	}
	if str(ann, "nginx.ingress.kubernetes.io/proxy-buffering") != "off" {
		t.Errorf("%s: proxy-buffering must be off for SSE", main.file)
	}
}

func TestKubernetesScaling(t *testing.T) {
	ms := k8sManifests(t)
	p := newsflashPod(t, ms)

	hpa := one(t, ms, "HorizontalPodAutoscaler")
	if v := str(hpa.doc, "apiVersion"); v != "autoscaling/v2" {
		t.Errorf("%s: apiVersion %s, want autoscaling/v2", hpa.file, v)
	}
	if str(hpa.doc, "spec", "scaleTargetRef", "kind") != "Deployment" || str(hpa.doc, "spec", "scaleTargetRef", "name") != p.dep.name() {
		t.Errorf("%s: scaleTargetRef is not the Deployment %s", hpa.file, p.dep.name())
	}
	minR, maxR := num(hpa.doc, "spec", "minReplicas"), num(hpa.doc, "spec", "maxReplicas")
	if minR < 2 || maxR < minR {
		t.Errorf("%s: minReplicas %d, maxReplicas %d: want 2 or more, and max at least min", hpa.file, minR, maxR)
	}
	if !slices.ContainsFunc(list(hpa.doc, "spec", "metrics"), func(m any) bool {
		return str(m, "resource", "name") == "cpu" && num(m, "resource", "target", "averageUtilization") > 0
	}) {
		t.Errorf("%s: no CPU utilization target", hpa.file)
	}

	pdb := one(t, ms, "PodDisruptionBudget")
	if !p.matches(obj(pdb.doc, "spec", "selector", "matchLabels")) {
		t.Errorf("%s: the selector does not match the Deployment's pods", pdb.file)
	}
	// A budget as large as the smallest count would block every node drain.
	if m := num(pdb.doc, "spec", "minAvailable"); m < 1 || m >= min(minR, num(p.dep.doc, "spec", "replicas")) {
		t.Errorf("%s: minAvailable %d: want at least 1 and fewer than the %d pods that may run", pdb.file, m, min(minR, num(p.dep.doc, "spec", "replicas")))
	}
}

// checkHelmTarget checks that the client URL points at the Service of the
// NATS Helm release of nats-values.yaml, which runs enough servers for the
// replicas asked.
func checkHelmTarget(t *testing.T, where, natsURL string, replicas int) {
	t.Helper()
	v := yamlDocs(t, helmValues)[0]
	want := str(v, "fullnameOverride") + "." + str(v, "namespaceOverride") + ".svc"
	for _, u := range natsURLs(t, where, natsURL) {
		if h := u.Hostname(); h != want && !strings.HasPrefix(h, want+".") {
			t.Errorf("%s: --nats-url host %s is not the NATS Helm release's Service %s", where, h, want)
		}
		if u.Port() != "4222" {
			t.Errorf("%s: --nats-url port %q, want the chart's client port 4222", where, u.Port())
		}
	}
	if n := num(v, "config", "cluster", "replicas"); replicas > n {
		t.Errorf("%s: --nats-replicas %d, but %s runs %d NATS servers", where, replicas, helmValues, n)
	}
}

// orDefault is n, or def when n is missing (-1).
func orDefault(n, def int) int {
	if n < 0 {
		return def
	}
	return n
}

// TestKubernetesClientAddresses checks that Newsflash sees each client behind
// the ingress controller, and that /metrics stays private: the server
// refuses public addresses itself, and the Ingress refuses /metrics on every
// host it serves, for when the controller's address is all the server sees.
func TestKubernetesClientAddresses(t *testing.T) {
	ms := k8sManifests(t)
	p := newsflashPod(t, ms)
	cfg := p.serveConfig(t, ms)
	where := p.dep.file + " (with its ConfigMap)"
	for _, pr := range checkClientAddresses(t, where, cfg.get, cfg.flags) {
		if !isPrivate(pr) {
			t.Errorf("%s: --trusted-proxies %s is not a private network, as the controller's pods have", where, pr)
		}
	}

	const allow = "nginx.ingress.kubernetes.io/whitelist-source-range"
	const allowNew = "nginx.ingress.kubernetes.io/allowlist-source-range"
	served, guarded := map[string]string{}, map[string]bool{}
	for _, ing := range byKind(ms, "Ingress") {
		ann := obj(ing.doc, "metadata", "annotations")
		ranges := str(ann, allow)
		if r := str(ann, allowNew); r != "" {
			ranges = r
		}
		for _, rule := range list(ing.doc, "spec", "rules") {
			host := str(rule, "host")
			for _, pth := range list(rule, "http", "paths") {
				switch path, kind := str(pth, "path"), str(pth, "pathType"); {
				case path == "/" && kind == "Prefix":
					served[host] = ing.file + ": Ingress " + ing.name()
				case path == "/metrics" && kind == "Exact" && ranges != "":
					where := ing.file + ": Ingress " + ing.name()
					private := true
					for _, pr := range prefixes(t, where, "source range", ranges) {
						private = private && isPrivate(pr)
					}
					if !private {
						t.Errorf("%s: /metrics is allowed from %s, beyond private addresses", where, ranges)
					}
					guarded[host] = private
				}
			}
		}
	}
	if len(served) == 0 {
		t.Errorf("no Ingress sends / to Newsflash")
	}
	for host, where := range served {
		if !guarded[host] {
			t.Errorf("%s: host %q has no Ingress path /metrics (Exact) with %s: the public would reach /metrics whenever the server sees only the controller's address", where, host, allow)
		}
	}
}

// TestKubernetesScraping checks both ways Prometheus may find the pods: the
// prometheus.io annotations on the pod template, and the optional
// ServiceMonitor, whose job label (the Service's name) must be the job the
// alert rules select.
func TestKubernetesScraping(t *testing.T) {
	ms := k8sManifests(t)
	p := newsflashPod(t, ms)
	cfg := p.serveConfig(t, ms)
	port := addrPort(t, p.dep.file, cfg.get("addr"))

	ann := obj(p.dep.doc, "spec", "template", "metadata", "annotations")
	if str(ann, "prometheus.io/scrape") != "true" || num(ann, "prometheus.io/port") != port || str(ann, "prometheus.io/path") != "/metrics" {
		t.Errorf("%s: want the pod annotations prometheus.io/scrape \"true\", prometheus.io/port \"%d\" (--addr) and prometheus.io/path /metrics; have %v", p.dep.file, port, ann)
	}

	svc := one(t, ms, "Service")
	job := alertsJob(t)
	for _, sm := range byKind(ms, "ServiceMonitor") {
		where := sm.file + ": ServiceMonitor " + sm.name()
		if !strings.Contains(sm.file, ".example.") {
			t.Errorf("%s: not an example file, so the kustomization would apply it where the operator's CRDs may be missing", where)
		}
		sel := obj(sm.doc, "spec", "selector", "matchLabels")
		if len(sel) == 0 {
			t.Errorf("%s: no spec.selector.matchLabels", where)
		}
		for k, v := range sel {
			if str(svc.doc, "metadata", "labels", k) != str(v) {
				t.Errorf("%s: selects %s=%v, which the Service %s does not have", where, k, v, svc.name())
			}
		}
		eps := list(sm.doc, "spec", "endpoints")
		if len(eps) == 0 {
			t.Errorf("%s: no endpoints", where)
		}
		for _, ep := range eps {
			if !slices.ContainsFunc(list(svc.doc, "spec", "ports"), func(sp any) bool { return str(sp, "name") == str(ep, "port") }) {
				t.Errorf("%s: endpoint port %q is not a port name of the Service", where, str(ep, "port"))
			}
			if pth := str(ep, "path"); pth != "" && pth != "/metrics" {
				t.Errorf("%s: endpoint path %s, not /metrics", where, pth)
			}
		}
		if jl := str(sm.doc, "spec", "jobLabel"); jl != "" {
			t.Errorf("%s: jobLabel %q: %s selects job=%q, the Service's name, which is the job label without one", where, jl, alertsFile, job)
		} else if svc.name() != job {
			t.Errorf("%s: the job label is the Service's name %q, but %s selects job=%q", where, svc.name(), alertsFile, job)
		}
	}
	if len(byKind(ms, "ServiceMonitor")) == 0 {
		t.Errorf("no ServiceMonitor example in %s/", k8sDir)
	}
}
