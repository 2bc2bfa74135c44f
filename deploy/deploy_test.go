package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// repoRoot is the module's root, seen from this package's directory (where
// go test runs it).
const repoRoot = ".."

// newsflashBin is the real server, built once by TestMain.
var newsflashBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "newsflash-deploy-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	newsflashBin = filepath.Join(dir, "newsflash")
	build := exec.Command("go", "build", "-o", newsflashBin, "./cmd/newsflash")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build ./cmd/newsflash: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// serveFlag is one flag of "newsflash serve", as its --help lists it.
type serveFlag struct {
	Name, Env, Default string
}

var helpLine = regexp.MustCompile(`^  --([a-z0-9-]+)  \((NEWSFLASH_[A-Z0-9_]+), default (.*)\)$`)

// serveFlags runs "newsflash serve --help" and returns its flags by name.
func serveFlags(t *testing.T) map[string]serveFlag {
	t.Helper()
	out, err := exec.Command(newsflashBin, "serve", "--help").Output()
	if err != nil {
		t.Fatalf("newsflash serve --help: %v", err)
	}
	flags := map[string]serveFlag{}
	for line := range strings.Lines(string(out)) {
		if m := helpLine.FindStringSubmatch(strings.TrimRight(line, "\n")); m != nil {
			def := m[3]
			if def == `""` {
				def = ""
			}
			flags[m[1]] = serveFlag{Name: m[1], Env: m[2], Default: def}
		}
	}
	// If the help format changed, say so rather than call every flag unknown.
	for _, name := range []string{"addr", "nats-url", "nats-replicas", "shutdown-timeout", "start-timeout", "editors"} {
		if _, ok := flags[name]; !ok {
			t.Fatalf("newsflash serve --help does not list --%s (has its format changed?):\n%s", name, out)
		}
	}
	return flags
}

// envFlag returns the flag read from the environment variable name.
func envFlag(flags map[string]serveFlag, name string) (serveFlag, bool) {
	for _, f := range flags {
		if f.Env == name {
			return f, true
		}
	}
	return serveFlag{}, false
}

// imageEntrypoint is the Dockerfile's ENTRYPOINT (exec form).
func imageEntrypoint(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var ep []string
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "ENTRYPOINT "); ok {
			ep = nil
			if err := json.Unmarshal([]byte(rest), &ep); err != nil {
				t.Fatalf("Dockerfile ENTRYPOINT %s: want the exec form: %v", rest, err)
			}
		}
	}
	if len(ep) < 2 || ep[1] != "serve" {
		t.Fatalf("Dockerfile ENTRYPOINT %q: want [binary serve ...]", ep)
	}
	return ep
}

// serveArgs checks a command line "serve --flag value ...", as a container
// runs it, and returns its flag values. Every flag must be one of
// "newsflash serve", given once; then the real binary parses the line (with
// --help added, so that it stops after parsing) and must accept it.
func serveArgs(t *testing.T, where string, argv []string, flags map[string]serveFlag) map[string]string {
	t.Helper()
	if len(argv) == 0 || argv[0] != "serve" {
		t.Errorf("%s: the command line %q does not start with the serve subcommand", where, argv)
		return nil
	}
	got := map[string]string{}
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		if !strings.HasPrefix(a, "-") {
			t.Errorf("%s: %q is not a flag: \"newsflash serve\" takes no arguments", where, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if _, ok := flags[name]; !ok {
			t.Errorf("%s: --%s is not a flag of \"newsflash serve\"", where, name)
			continue
		}
		if !hasValue { // every serve flag takes a value
			if i+1 >= len(argv) {
				t.Errorf("%s: --%s has no value", where, name)
				continue
			}
			i++
			value = argv[i]
		}
		if _, dup := got[name]; dup {
			t.Errorf("%s: --%s is given twice", where, name)
		}
		got[name] = value
	}
	cmd := exec.Command(newsflashBin, append(slices.Clone(argv), "--help")...)
	cmd.Env = []string{} // NEWSFLASH_* of this shell must not take part
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Errorf("%s: newsflash refuses the command line %q: %v: %s", where, argv, err, strings.TrimSpace(stderr.String()))
	}
	return got
}

// setting is a flag's effective value: from the command line, else from the
// environment, else its default.
func setting(flags map[string]serveFlag, args, env map[string]string, name string) string {
	if v, ok := args[name]; ok {
		return v
	}
	if v, ok := env[flags[name].Env]; ok {
		return v
	}
	return flags[name].Default
}

// checkEnv checks that every NEWSFLASH_* variable names a flag and that no
// flag is set both on the command line (which wins) and in the environment.
func checkEnv(t *testing.T, where string, env, args map[string]string, flags map[string]serveFlag) {
	t.Helper()
	for name := range env {
		if !strings.HasPrefix(name, "NEWSFLASH_") {
			continue
		}
		f, ok := envFlag(flags, name)
		if !ok {
			t.Errorf("%s: %s is no setting of \"newsflash serve\"", where, name)
			continue
		}
		if _, both := args[f.Name]; both {
			t.Errorf("%s: --%s is set both on the command line and as %s; the command line wins, so one of them is dead", where, f.Name, name)
		}
	}
}

func addrPort(t *testing.T, where, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	n, err2 := strconv.Atoi(p)
	if err != nil || err2 != nil {
		t.Fatalf("%s: --addr %q is not host:port", where, addr)
	}
	return n
}

func duration(t *testing.T, where, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("%s: %q is not a duration: %v", where, s, err)
	}
	return d
}

// files lists the files under this directory whose names end with one of
// the suffixes, as slash paths relative to it.
func files(t *testing.T, suffixes ...string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		for _, s := range suffixes {
			if !d.IsDir() && strings.HasSuffix(d.Name(), s) {
				out = append(out, filepath.ToSlash(path))
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// yamlDocs parses every document of a YAML file. Duplicate keys are errors.
func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var docs []map[string]any
	dec := yaml.NewDecoder(f)
	for i := 1; ; i++ {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: document %d: %v", path, i, err)
		}
		if doc != nil { // an empty document, such as after a trailing ---
			docs = append(docs, doc)
		}
	}
	if len(docs) == 0 {
		t.Fatalf("%s: no YAML document", path)
	}
	return docs
}

// node walks maps by key. A missing key gives nil.
func node(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any, path ...string) string {
	switch x := node(v, path...).(type) {
	case string:
		return x
	case nil:
		return ""
	default:
		return fmt.Sprint(x)
	}
}

func list(v any, path ...string) []any {
	l, _ := node(v, path...).([]any)
	return l
}

func obj(v any, path ...string) map[string]any {
	m, _ := node(v, path...).(map[string]any)
	return m
}

// num reads an integer, or -1 when there is none.
func num(v any, path ...string) int {
	switch x := node(v, path...).(type) {
	case int:
		return x
	case float64:
		return int(x)
	case string:
		if n, err := strconv.Atoi(x); err == nil {
			return n
		}
	}
	return -1
}

func stringList(l []any) []string {
	out := make([]string, 0, len(l))
	for _, v := range l {
		out = append(out, fmt.Sprint(v))
	}
	return out
}

func TestEveryYAMLFileParses(t *testing.T) {
	paths := files(t, ".yaml", ".yml")
	for _, want := range []string{composeFile, k8sDir + "/deployment.yaml", helmValues} {
		if !slices.Contains(paths, want) {
			t.Fatalf("%s is not among the YAML files found: %q", want, paths)
		}
	}
	for _, p := range paths {
		yamlDocs(t, p)
	}
}
