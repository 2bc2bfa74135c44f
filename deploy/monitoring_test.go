package deploy

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"newsflash/internal/metrics"
)

const (
	metricsDoc    = "docs/metrics.md" // from the repository root
	alertsFile    = "prometheus/alerts.yaml"
	dashboardFile = "grafana/newsflash.json"
)

// docMetric is one row of docs/metrics.md's tables.
type docMetric struct {
	name, kind string
	labels     []string // label names
	words      []string // every `quoted` word of the row: label values among them
}

var (
	docRow      = regexp.MustCompile("^\\|\\s*`(newsflash_[a-z0-9_]+)`\\s*\\|([^|]*)\\|([^|]*)\\|(.*)\\|\\s*$")
	backticked  = regexp.MustCompile("`([^`]+)`")
	parentheses = regexp.MustCompile(`\([^)]*\)`)
)

// documentedMetrics parses the newsflash_* metrics out of docs/metrics.md's
// tables, the contract that dashboards and alerts are written against.
func documentedMetrics(t *testing.T) map[string]docMetric {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, metricsDoc))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]docMetric{}
	for line := range strings.Lines(string(data)) {
		m := docRow.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		d := docMetric{name: m[1], kind: strings.TrimSpace(m[2])}
		// Labels are the quoted names of the labels cell, less the values
		// some rows give in parentheses after a name.
		for _, l := range backticked.FindAllStringSubmatch(parentheses.ReplaceAllString(m[3], ""), -1) {
			d.labels = append(d.labels, l[1])
		}
		for _, w := range backticked.FindAllStringSubmatch(m[3]+m[4], -1) {
			d.words = append(d.words, w[1])
		}
		out[d.name] = d
	}
	if len(out) < 10 {
		t.Fatalf("%s: found %d newsflash_* metrics in its tables; has the table format changed?", metricsDoc, len(out))
	}
	return out
}

// runtimeMetrics are the go_* and process_* names a real instance exports:
// those of metrics.New, which registers the Go and process collectors.
func runtimeMetrics(t *testing.T) map[string]bool {
	t.Helper()
	rec := httptest.NewRecorder()
	metrics.New().Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (\S+) (\S+)$`).FindAllStringSubmatch(rec.Body.String(), -1) {
		names[m[1]] = true
		if m[2] == "histogram" || m[2] == "summary" {
			names[m[1]+"_sum"], names[m[1]+"_count"], names[m[1]+"_bucket"] = true, true, m[2] == "histogram"
		}
	}
	if !names["go_goroutines"] {
		t.Fatalf("metrics.New exports no go_goroutines:\n%s", rec.Body.String())
	}
	return names
}

// promChecker checks PromQL expressions without Prometheus's parser (not a
// dependency of this module; promtool checks more, where installed): the
// brackets balance, ranges are durations, and every metric, label and
// label value used is one Newsflash exports.
type promChecker struct {
	doc     map[string]docMetric
	runtime map[string]bool
	// vars are the Grafana variables an expression may use ($name); nil
	// for alert rules, which have none.
	vars map[string]bool
}

func newPromChecker(t *testing.T) promChecker {
	return promChecker{doc: documentedMetrics(t), runtime: runtimeMetrics(t)}
}

// targetLabels are put on every series by Prometheus, not by Newsflash.
var targetLabels = []string{"job", "instance"}

var (
	metricName  = regexp.MustCompile(`\b((?:newsflash|go|process)_[a-zA-Z0-9_]+)\b`)
	selector    = regexp.MustCompile(`\b((?:newsflash|go|process)_[a-zA-Z0-9_]+)\s*\{([^}]*)\}`)
	matcher     = regexp.MustCompile(`^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"\s*$`)
	grouping    = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	rangeVector = regexp.MustCompile(`\[([^\]]*)\]`)
	promDur     = regexp.MustCompile(`^([0-9]+(ms|s|m|h|d|w|y))+$`)
	grafanaVar  = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)
	plainWord   = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	// String literals, whose content is not PromQL.
	promStrings = regexp.MustCompile(`"[^"]*"`)
)

// metricOf maps a series name to its documented metric: a histogram's
// _bucket, _sum and _count series to the histogram.
func (c promChecker) metricOf(name string) (docMetric, bool) {
	if d, ok := c.doc[name]; ok {
		return d, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if d, ok := c.doc[base]; ok && d.kind == "histogram" {
				return d, true
			}
		}
	}
	return docMetric{}, false
}

// check returns what is wrong with one expression, and the metrics it uses.
func (c promChecker) check(expr string) (problems, used []string) {
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if strings.TrimSpace(expr) == "" {
		return []string{"empty expression"}, nil
	}

	// Brackets balance, outside strings.
	var stack []rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	for _, r := range promStrings.ReplaceAllString(expr, `""`) {
		switch r {
		case '(', '[', '{':
			stack = append(stack, r)
		case ')', ']', '}':
			if len(stack) == 0 || stack[len(stack)-1] != pairs[r] {
				bad("unbalanced %q", r)
				return problems, nil
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		bad("unclosed %q", stack[len(stack)-1])
	}

	// Grafana variables are known ones.
	for _, m := range grafanaVar.FindAllStringSubmatch(expr, -1) {
		if !c.vars[m[1]] && !strings.HasPrefix(m[1], "__") {
			bad("$%s is not a variable of the dashboard", m[1])
		}
	}

	// Metrics exist; collect the labels they may have.
	labels := slices.Clone(targetLabels)
	for _, m := range metricName.FindAllStringSubmatch(promStrings.ReplaceAllString(expr, `""`), -1) {
		name := m[1]
		used = append(used, name)
		if strings.HasPrefix(name, "newsflash_") {
			d, ok := c.metricOf(name)
			if !ok {
				bad("%s is not in %s", name, metricsDoc)
				continue
			}
			labels = append(labels, d.labels...)
			if d.kind == "histogram" {
				labels = append(labels, "le")
			}
		} else if !c.runtime[name] && (runtime.GOOS == "linux" || !strings.HasPrefix(name, "process_")) {
			bad("%s is not exported by the Go and process collectors of internal/metrics", name)
		}
	}

	// Matchers name labels of their metric and values the docs give.
	for _, m := range selector.FindAllStringSubmatch(expr, -1) {
		d, documented := c.metricOf(m[1])
		for _, part := range strings.Split(m[2], ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			mm := matcher.FindStringSubmatch(part)
			if mm == nil {
				bad("%s{%s}: cannot read the matcher %q", m[1], m[2], part)
				continue
			}
			label, op, value := mm[1], mm[2], mm[3]
			if slices.Contains(targetLabels, label) || !documented {
				continue
			}
			if !slices.Contains(d.labels, label) {
				bad("%s has no label %q (%s gives %q)", m[1], label, metricsDoc, d.labels)
				continue
			}
			values := []string{value}
			if op == "=~" || op == "!~" {
				values = strings.Split(value, "|")
			}
			for _, v := range values {
				if plainWord.MatchString(v) && !slices.Contains(d.words, v) {
					bad("%s{%s%s%q}: %q is not a value %s gives", m[1], label, op, value, v, metricsDoc)
				}
			}
		}
	}

	// Grouping names labels some metric of the expression has.
	for _, m := range grouping.FindAllStringSubmatch(expr, -1) {
		for _, l := range strings.Split(m[1], ",") {
			if l = strings.TrimSpace(l); l != "" && !slices.Contains(labels, l) {
				bad("grouping by %q, a label none of its metrics has", l)
			}
		}
	}

	// Ranges are durations (or Grafana's interval variables).
	for _, m := range rangeVector.FindAllStringSubmatch(expr, -1) {
		for _, part := range strings.Split(m[1], ":") {
			if part != "" && !promDur.MatchString(part) && !strings.HasPrefix(part, "$__") {
				bad("[%s]: %q is not a duration", m[1], part)
			}
		}
	}
	return problems, used
}

// alertRuleKeys are the keys a Prometheus alerting rule may have.
var alertRuleKeys = []string{"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}

// TestPrometheusAlerts checks the alerting rules' structure (promtool is not
// required; see docs/deploy.md) and that they use only documented metrics.
func TestPrometheusAlerts(t *testing.T) {
	doc := yamlDocs(t, alertsFile)
	if len(doc) != 1 || len(doc[0]) != 1 || len(list(doc[0], "groups")) == 0 {
		t.Fatalf("%s: want one document holding only \"groups\", a list of rule groups", alertsFile)
	}
	c := newPromChecker(t)
	groups, alerts := map[string]bool{}, map[string]bool{}
	used := map[string]bool{}
	for i, g := range list(doc[0], "groups") {
		name := str(g, "name")
		if name == "" || groups[name] {
			t.Errorf("%s: group %d: the name %q is empty or taken", alertsFile, i+1, name)
		}
		groups[name] = true
		if len(list(g, "rules")) == 0 {
			t.Errorf("%s: group %s has no rules", alertsFile, name)
		}
		for j, r := range list(g, "rules") {
			alert := str(r, "alert")
			where := fmt.Sprintf("%s: group %s, rule %d (%s)", alertsFile, name, j+1, alert)
			if alert == "" || alerts[alert] {
				t.Errorf("%s: the alert name is empty or taken", where)
			}
			alerts[alert] = true
			for _, k := range slices.Sorted(maps.Keys(obj(r))) {
				if !slices.Contains(alertRuleKeys, k) {
					t.Errorf("%s: unknown key %q", where, k)
				}
			}
			problems, metrics := c.check(str(r, "expr"))
			for _, p := range problems {
				t.Errorf("%s: expr: %s", where, p)
			}
			for _, m := range metrics {
				used[m] = true
			}
			if !promDur.MatchString(str(r, "for")) {
				t.Errorf("%s: for %q: want a duration, so that one bad scrape does not fire it", where, str(r, "for"))
			}
			if sev := str(r, "labels", "severity"); !slices.Contains([]string{"critical", "warning", "info"}, sev) {
				t.Errorf("%s: labels.severity %q: want critical, warning or info", where, sev)
			}
			for _, a := range []string{"summary", "description"} {
				if strings.TrimSpace(str(r, "annotations", a)) == "" {
					t.Errorf("%s: no annotations.%s", where, a)
				}
			}
		}
	}
	// What issue 7 asks alerts for.
	for _, m := range []string{"newsflash_readers", "newsflash_push_sends_total", "newsflash_nats_connected", "newsflash_reader_disconnects_total"} {
		if !used[m] {
			t.Errorf("%s: no rule uses %s", alertsFile, m)
		}
	}
}

// TestPromChecker shows that the checker catches what it claims to.
func TestPromChecker(t *testing.T) {
	c := newPromChecker(t)
	c.vars = map[string]bool{"instance": true}
	for expr, want := range map[string]string{
		`sum by (transport) (newsflash_readers{instance=~"$instance"})`:                           "",
		`histogram_quantile(0.99, sum by (le) (rate(newsflash_delivery_lag_seconds_bucket[5m])))`: "",
		`rate(process_cpu_seconds_total[$__rate_interval])`:                                       "",
		`newsflash_readerz`:                                     "not in",
		`newsflash_readers_bucket`:                              "not in",
		`newsflash_readers{reason="slow"}`:                      "no label",
		`newsflash_reader_disconnects_total{reason="sluggish"}`: "not a value",
		`newsflash_push_sends_total{outcome=~"sent|lost"}`:      "not a value",
		`sum by (host) (newsflash_readers)`:                     "grouping",
		`rate(newsflash_refused_total[5 minutes])`:              "not a duration",
		`sum(rate(newsflash_refused_total[5m])`:                 "unclosed",
		`newsflash_readers{instance=~"$pod"}`:                   "not a variable",
		`go_goroutinez`:                                         "collectors",
	} {
		problems, _ := c.check(expr)
		got := strings.Join(problems, "; ")
		if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Errorf("check(%s) = %q, want %q", expr, got, want)
		}
	}
}

var jobMatcher = regexp.MustCompile(`\bjob\s*=\s*"([^"]*)"`)

// alertsJob is the one scrape job name the alert rules select (for up and
// process_*, which every job has).
func alertsJob(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	jobs := map[string]bool{}
	for _, m := range jobMatcher.FindAllStringSubmatch(string(data), -1) {
		jobs[m[1]] = true
	}
	if len(jobs) != 1 {
		t.Fatalf("%s: want one job name selected, found %q", alertsFile, slices.Sorted(maps.Keys(jobs)))
	}
	return slices.Collect(maps.Keys(jobs))[0]
}

// dashboardPanels lists a dashboard's panels, those inside rows included.
func dashboardPanels(v any) []any {
	var out []any
	for _, p := range list(v, "panels") {
		out = append(out, p)
		out = append(out, dashboardPanels(p)...)
	}
	return out
}

// TestGrafanaDashboard checks the dashboard's structure and that every query
// uses only documented metrics, labels and label values.
func TestGrafanaDashboard(t *testing.T) {
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if str(dash, "title") == "" || str(dash, "uid") == "" || len(str(dash, "uid")) > 40 {
		t.Errorf("%s: want a title and a uid of at most 40 characters", dashboardFile)
	}
	if v := num(dash, "schemaVersion"); v < 36 {
		t.Errorf("%s: schemaVersion %d: want 36 or later (Grafana 9 and on)", dashboardFile, v)
	}

	// The data source is a variable, so that the file works imported or
	// provisioned, on any Prometheus; job and instance select series.
	c := newPromChecker(t)
	c.vars = map[string]bool{}
	var dsVar string
	for _, v := range list(dash, "templating", "list") {
		name := str(v, "name")
		c.vars[name] = true
		switch str(v, "type") {
		case "datasource":
			if str(v, "query") == "prometheus" {
				dsVar = name
			}
		case "query":
			if problems, _ := c.check(str(v, "query")); len(problems) > 0 {
				t.Errorf("%s: variable %s: %s", dashboardFile, name, strings.Join(problems, "; "))
			}
		}
	}
	if dsVar == "" {
		t.Fatalf("%s: no variable of type datasource for prometheus", dashboardFile)
	}
	for _, v := range []string{"job", "instance"} {
		if !c.vars[v] {
			t.Errorf("%s: no %s variable", dashboardFile, v)
		}
	}
	usesVar := func(ds any) bool { return str(ds, "uid") == "${"+dsVar+"}" || str(ds, "uid") == "$"+dsVar }

	ids := map[int]bool{}
	used := map[string]bool{}
	for _, p := range dashboardPanels(dash) {
		id, title := num(p, "id"), str(p, "title")
		where := fmt.Sprintf("%s: panel %d (%s)", dashboardFile, id, title)
		if id <= 0 || ids[id] {
			t.Errorf("%s: the id is missing or taken", where)
		}
		ids[id] = true
		if title == "" {
			t.Errorf("%s: no title", where)
		}
		if x, w, h := num(p, "gridPos", "x"), num(p, "gridPos", "w"), num(p, "gridPos", "h"); x < 0 || w <= 0 || h <= 0 || x+w > 24 {
			t.Errorf("%s: gridPos %v does not fit the 24 columns", where, obj(p, "gridPos"))
		}
		if str(p, "type") == "row" {
			continue
		}
		if !usesVar(obj(p, "datasource")) {
			t.Errorf("%s: its datasource is not the variable $%s", where, dsVar)
		}
		targets := list(p, "targets")
		if len(targets) == 0 {
			t.Errorf("%s: no targets", where)
		}
		refs := map[string]bool{}
		for _, tg := range targets {
			ref := str(tg, "refId")
			if ref == "" || refs[ref] {
				t.Errorf("%s: a target's refId %q is empty or taken", where, ref)
			}
			refs[ref] = true
			if !usesVar(obj(tg, "datasource")) {
				t.Errorf("%s: target %s: its datasource is not the variable $%s", where, ref, dsVar)
			}
			expr := str(tg, "expr")
			problems, metrics := c.check(expr)
			for _, pr := range problems {
				t.Errorf("%s: target %s: %s", where, ref, pr)
			}
			for _, m := range metrics {
				used[m] = true
			}
			if strings.Contains(expr, "newsflash_") && !strings.Contains(expr, `instance=~"$instance"`) {
				t.Errorf("%s: target %s does not select instance=~\"$instance\"", where, ref)
			}
		}
	}
	// What the dashboard is for (issue 7).
	for _, m := range []string{
		"newsflash_readers", "newsflash_reader_connects_total", "newsflash_reader_disconnects_total",
		"newsflash_events_delivered_total", "newsflash_delivery_lag_seconds_bucket", "newsflash_publish_latency_seconds_bucket",
		"newsflash_refused_total", "newsflash_reader_queued_frames", "newsflash_reader_queue_max",
		"newsflash_push_sends_total", "newsflash_push_retries_total", "newsflash_push_subscriptions_removed_total",
		"newsflash_nats_connected", "newsflash_stream_follow_stalled", "newsflash_idempotent_replays_total",
		"go_goroutines", "process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds",
	} {
		if !used[m] {
			t.Errorf("%s: no panel shows %s", dashboardFile, m)
		}
	}
}
