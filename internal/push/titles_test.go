package push

import (
	"maps"
	"os"
	"regexp"
	"testing"
)

// TestTitlesMatchScript reads the table of web/static/titles.js (the
// service worker's titles) and requires the Go table to be the same, so an
// app's notification and a browser's carry the same title.
func TestTitlesMatchScript(t *testing.T) {
	b, err := os.ReadFile("../../web/static/titles.js")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`(?m)^\s*([a-z]{2,3}): Object\.freeze\(\{ flash: "([^"]*)", urgent: "([^"]*)", breaking: "([^"]*)" \}\),$`)
	js := map[string]map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		js[m[1]] = map[string]string{"flash": m[2], "urgent": m[3], "breaking": m[4]}
	}
	if len(js) == 0 {
		t.Fatal("no title rows found in titles.js: has its layout changed? update this test's pattern")
	}
	if !maps.EqualFunc(js, titles, maps.Equal) {
		t.Fatalf("titles.js has %v, titles.go has %v", js, titles)
	}
}

func TestTitle(t *testing.T) {
	for _, c := range []struct{ lang, priority, want string }{
		{"en", "flash", "FLASH"},
		{"es-MX", "urgent", "URGENTE"},
		{"AR", "breaking", "خبر عاجل"},
		{"fr", "flash", "FLASH"},
		{"", "", "BREAKING"},
		{"es", "unknown", "ÚLTIMO MOMENTO"},
	} {
		if got := Title(c.lang, c.priority); got != c.want {
			t.Errorf("Title(%q, %q) = %q, want %q", c.lang, c.priority, got, c.want)
		}
	}
}
