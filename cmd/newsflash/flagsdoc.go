package main

import (
	"flag"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// flagRef is a flag named in help text (--nats-url), shown as code in
// Markdown.
var flagRef = regexp.MustCompile(`--[a-z0-9][a-z0-9-]*`)

// markdownEscaper escapes what Markdown takes as markup in a table cell.
var markdownEscaper = strings.NewReplacer("|", `\|`, "*", `\*`, "<", `\<`, "_", `\_`, "`", "\\`")

// markdownTable writes the flags as a Markdown table: flag, variable,
// default and help, in the order --help lists them. README.md's
// configuration table is this output (TestREADMEFlagsTable keeps it so), so
// the help text is the one place a flag is described.
func (f *flags) markdownTable(w io.Writer) {
	var all []*flag.Flag
	f.fs.VisitAll(func(fl *flag.Flag) { all = append(all, fl) })
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	fmt.Fprintln(w, "| Flag | Environment | Default | Meaning |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, fl := range all {
		def := "empty"
		if fl.DefValue != "" {
			def = "`" + fl.DefValue + "`"
		}
		fmt.Fprintf(w, "| `--%s` | `%s` | %s | %s |\n", fl.Name, envName(fl.Name), def, markdownHelp(fl.Usage))
	}
}

// markdownHelp turns a flag's help into a table cell: a capital first
// letter, a final full stop, flag names as code, and the characters
// Markdown would take as markup escaped.
func markdownHelp(s string) string {
	s = markdownEscaper.Replace(strings.TrimSpace(s))
	s = flagRef.ReplaceAllString(s, "`$0`")
	if r, n := utf8.DecodeRuneInString(s); n > 0 {
		s = string(unicode.ToUpper(r)) + s[n:]
	}
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}
