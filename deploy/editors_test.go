package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"newsflash/internal/editor"
)

// TestEditorsExample: the compose editors example, copied as the docs say
// and with its placeholder line replaced by a real one, is a file Newsflash
// reads; left as copied it is refused, naming the placeholder's line. Its
// comments hold commas, which must not split anything.
func TestEditorsExample(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(composeDir, "editors.example"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	placeholder := -1
	for i, l := range lines {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			if placeholder >= 0 {
				t.Fatalf("editors.example has more than one line that is not a comment: %d and %d", placeholder+1, i+1)
			}
			placeholder = i
		}
	}
	if placeholder < 0 {
		t.Fatal("editors.example has no placeholder line")
	}

	// As shipped: refused, and the error names the placeholder's line.
	if eds, err := editor.ParseEditors(text); err == nil {
		t.Fatalf("the example as shipped is accepted (%q); it must stop the server", eds.Names())
	} else if want := "line " + itoa(placeholder+1) + " "; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name the placeholder's %q", err, want)
	}

	token, line, err := editor.NewToken("alice")
	if err != nil {
		t.Fatal(err)
	}
	// The placeholder replaced by a real line, as the docs say.
	edited := slices.Clone(lines)
	edited[placeholder] = line
	eds, err := editor.ParseEditors(strings.Join(edited, "\n") + "\n")
	if err != nil {
		t.Fatalf("the example with its placeholder replaced: %v", err)
	}
	if got, ok := eds.Lookup(token); !ok || got != "alice" {
		t.Errorf("Lookup(token) = %q, %v; want alice", got, ok)
	}

	// The placeholder commented out and real lines appended.
	_, bob, err := editor.NewToken("bob")
	if err != nil {
		t.Fatal(err)
	}
	edited[placeholder] = "# " + lines[placeholder]
	eds, err = editor.ParseEditors(strings.Join(edited, "\n") + "\n" + line + "\n" + bob + "\n")
	if err != nil {
		t.Fatalf("the example with a line appended: %v", err)
	}
	if got := eds.Names(); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Errorf("Names = %q, want [alice bob]", got)
	}
}
