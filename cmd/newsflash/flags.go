package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// flags is a flag.FlagSet whose every flag may also come from the
// environment variable NEWSFLASH_<FLAG> (upper case, - as _). A flag given
// on the command line wins over the variable. It remembers where each value
// came from, so that a bad value is reported by the name it was given under
// (see invalid).
type flags struct {
	fs      *flag.FlagSet
	given   map[string]bool   // set on the command line
	env     map[string]string // set from the environment: the variable's text
	secrets map[string]bool   // never shown in an error
}

func newFlags(name string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	return &flags{fs: fs, given: map[string]bool{}, env: map[string]string{}, secrets: map[string]bool{}}
}

func envName(flag string) string {
	return "NEWSFLASH_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// secret marks flags whose values errors must not show (private keys).
func (f *flags) secret(names ...string) {
	for _, n := range names {
		f.secrets[n] = true
	}
}

// secretsOnCommandLine lists the secret flags given on the command line,
// where any user of the machine can read them (ps, /proc).
func (f *flags) secretsOnCommandLine() []string {
	var out []string
	f.fs.Visit(func(fl *flag.Flag) {
		if f.secrets[fl.Name] && f.given[fl.Name] {
			out = append(out, fl.Name)
		}
	})
	return out
}

// parse reads args, then the environment for flags not given, and reports
// the first bad value naming the flag and its variable.
func (f *flags) parse(args []string) error {
	if err := f.fs.Parse(args); err != nil {
		return err
	}
	if f.fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", f.fs.Arg(0))
	}
	f.fs.Visit(func(fl *flag.Flag) { f.given[fl.Name] = true })
	var err error
	f.fs.VisitAll(func(fl *flag.Flag) {
		if err != nil || f.given[fl.Name] {
			return
		}
		if v, ok := os.LookupEnv(envName(fl.Name)); ok {
			f.env[fl.Name] = v
			if e := f.fs.Set(fl.Name, v); e != nil {
				err = f.invalid(fl.Name, e.Error())
			}
		}
	})
	return err
}

// invalid is the error for a bad setting, named as the operator gave it:
//
//	invalid --reader-queue 5: must be 16 to 65536               (command line)
//	invalid NEWSFLASH_READER_QUEUE=5 (--reader-queue): must be …  (environment)
//	invalid --vapid-subject: …                                  (left unset)
//
// A variable's value is shown as written, a flag's as it was understood;
// either is quoted when it is empty or has spaces or quotes, and a secret's
// is never shown.
func (f *flags) invalid(name, why string) error {
	if raw, ok := f.env[name]; ok {
		if f.secrets[name] {
			return fmt.Errorf("invalid %s (--%s): %s", envName(name), name, why)
		}
		return fmt.Errorf("invalid %s=%s (--%s): %s", envName(name), shown(raw), name, why)
	}
	fl := f.fs.Lookup(name)
	if fl == nil || !f.given[name] || f.secrets[name] {
		return fmt.Errorf("invalid --%s: %s", name, why)
	}
	return fmt.Errorf("invalid --%s %s: %s", name, shown(fl.Value.String()), why)
}

// shown is a value as an error shows it: bare when it reads unambiguously,
// else quoted (empty, spaces, quotes, control or non-ASCII characters).
func shown(v string) string {
	if v == "" {
		return `""`
	}
	for _, r := range v {
		if r <= ' ' || r >= 0x7f || r == '"' || r == '\\' || r == '\'' {
			return strconv.Quote(v)
		}
	}
	return v
}

// usage lists flags, variables and defaults.
func (f *flags) usage(w io.Writer, synopsis string) {
	fmt.Fprintf(w, "Usage: %s\n\nFlags (each also read from the environment variable shown):\n", synopsis)
	var all []*flag.Flag
	f.fs.VisitAll(func(fl *flag.Flag) { all = append(all, fl) })
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	for _, fl := range all {
		def := fl.DefValue
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  --%s  (%s, default %s)\n      %s\n", fl.Name, envName(fl.Name), def, fl.Usage)
	}
}

// byteSize is a flag.Value for sizes such as 512MiB, 8GiB or 1048576.
type byteSize int64

func (b *byteSize) String() string { return formatSize(int64(*b)) }

func (b *byteSize) Set(s string) error {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return fmt.Errorf("want a positive size such as 512MiB or 8GiB")
	}
	*b = byteSize(n * mult)
	return nil
}

func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// listFlag is a comma-separated list.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	*l = nil
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// autoInt is a flag.Value for a number the server can work out from the
// machine or the cluster: "auto" (its default) or an integer. Its Auto
// field says which.
type autoInt struct {
	Auto bool
	N    int
}

func (a *autoInt) String() string {
	if a.Auto {
		return "auto"
	}
	return strconv.Itoa(a.N)
}

func (a *autoInt) Set(s string) error {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "auto") {
		*a = autoInt{Auto: true}
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("want auto or a number")
	}
	*a = autoInt{N: n}
	return nil
}

// noLimit turns a flag's limit into its option: the flag's 0 (and -1, its
// old spelling) is "no limit", which the option spells as a negative value,
// since the option's 0 is its default.
func noLimit(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}
