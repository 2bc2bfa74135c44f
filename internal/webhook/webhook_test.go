package webhook

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"newsflash/internal/httperr"
	"newsflash/internal/news"
)

// TestSignVerifiesWithReference: what Sign makes, the reference library
// of Standard Webhooks verifies, for each of two secrets signing at once,
// and refuses for another secret or a changed body.
func TestSignVerifiesWithReference(t *testing.T) {
	a, b := newSecret(), newSecret()
	ka, _ := decodeSecret(a)
	kb, _ := decodeSecret(b)
	body := []byte(`{"type":"item.created","timestamp":"2026-01-02T03:04:05Z","data":{"id":"x"}}`)
	now := time.Now()
	h := http.Header{}
	h.Set("webhook-id", MessageID(42, "abc"))
	h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("webhook-signature", Sign([][]byte{ka, kb}, MessageID(42, "abc"), now.Unix(), body))
	if got := strings.Count(h.Get("webhook-signature"), "v1,"); got != 2 {
		t.Fatalf("signature header %q holds %d signatures, want 2", h.Get("webhook-signature"), got)
	}
	for _, sec := range []string{a, b} {
		wh, err := standardwebhooks.NewWebhook(sec)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, h); err != nil {
			t.Errorf("reference library refuses our signature: %v", err)
		}
		if err := wh.Verify(append([]byte(" "), body...), h); err == nil {
			t.Error("a changed body verifies")
		}
	}
	other, _ := standardwebhooks.NewWebhook(newSecret())
	if err := other.Verify(body, h); err == nil {
		t.Error("another secret verifies")
	}
	if !strings.HasPrefix(a, SecretPrefix) || len(ka) != SecretBytes {
		t.Errorf("secret %q: want %s and %d bytes", a, SecretPrefix, SecretBytes)
	}
}

// TestBackoff: the first retry comes within 10 s, each wait doubles (with
// jitter) up to the cap, and the default schedule tries for RetryFor.
func TestBackoff(t *testing.T) {
	s := &Service{cfg: config{Options: Options{RetryBase: DefaultRetryBase, RetryMax: DefaultRetryMax, RetryFor: DefaultRetryFor}}}
	for range 100 {
		if d := s.Backoff(1); d < 4*time.Second || d > 6*time.Second {
			t.Fatalf("first retry after %v, want 4-6 s", d)
		}
		if d := s.Backoff(3); d < 16*time.Second || d > 24*time.Second {
			t.Fatalf("third retry after %v, want 16-24 s", d)
		}
		if d := s.Backoff(100); d < 48*time.Minute || d > 72*time.Minute {
			t.Fatalf("late retry after %v, want the 1 h cap with jitter", d)
		}
	}
	if DefaultRetryFor < 24*time.Hour {
		t.Errorf("DefaultRetryFor %v: deliveries must be tried for at least 24 h", DefaultRetryFor)
	}
}

func TestCreateBadInput(t *testing.T) {
	e := newEnv(t, 1, Options{})
	s := e.svc[0]
	good := func() Input {
		return Input{URL: "https://hooks.example.org/in", Events: []string{TypeCreated}}
	}
	tests := []struct {
		name        string
		change      func(*Input)
		code, field string
	}{
		{"no url", func(in *Input) { in.URL = "" }, CodeInvalidURL, "url"},
		{"http url", func(in *Input) { in.URL = "http://hooks.example.org/in" }, CodeInvalidURL, "url"},
		{"other port", func(in *Input) { in.URL = "https://hooks.example.org:8443/in" }, CodeInvalidURL, "url"},
		{"private address", func(in *Input) { in.URL = "https://10.1.2.3/in" }, CodeInvalidURL, "url"},
		{"loopback address", func(in *Input) { in.URL = "https://127.0.0.1/in" }, CodeInvalidURL, "url"},
		{"localhost", func(in *Input) { in.URL = "https://localhost/in" }, CodeInvalidURL, "url"},
		{"user info", func(in *Input) { in.URL = "https://u:p@hooks.example.org/in" }, CodeInvalidURL, "url"},
		{"not a url", func(in *Input) { in.URL = "hooks example" }, CodeInvalidURL, "url"},
		{"no events", func(in *Input) { in.Events = nil }, CodeNoEvents, "events"},
		{"unknown event", func(in *Input) { in.Events = []string{TypeCreated, "item.deleted"} }, CodeUnknownEvent, "events"},
		{"unknown region", func(in *Input) { in.Filter.Regions = []string{"atlantis"} }, "unknown_region", "filter.regions"},
		{"unknown topic", func(in *Input) { in.Filter.Topics = []string{"gossip"} }, "unknown_topic", "filter.topics"},
		{"unknown lang", func(in *Input) { in.Filter.Langs = []string{"xx"} }, "unknown_lang", "filter.langs"},
		{"unknown story", func(in *Input) { in.Filter.Stories = []string{"nope"} }, "unknown_story", "filter.stories"},
		{"story not a slug", func(in *Input) { in.Filter.Stories = []string{"Not A Slug"} }, "unknown_story", "filter.stories"},
		{"too many regions", func(in *Input) { in.Filter.Regions = slices.Repeat([]string{"europe"}, news.MaxFilterValues+1) }, "too_many_regions", "filter.regions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := good()
			tc.change(&in)
			_, _, err := s.Create(context.Background(), in, "alice")
			var he *httperr.Error
			if !errors.As(err, &he) || he.Status != http.StatusBadRequest || he.Code != tc.code || he.Field != tc.field {
				t.Fatalf("Create = %v, want 400 %s on %s", err, tc.code, tc.field)
			}
		})
	}
	l, err := s.List(context.Background())
	if err != nil || len(l) != 0 {
		t.Fatalf("after bad input the list is %v (%v), want empty", l, err)
	}
	// The good input is accepted and normalised.
	in := good()
	in.Events = []string{TypeRetracted, TypeCreated, TypeCreated}
	in.Filter = Filter{Regions: []string{"Europe", "asia"}, Stories: []string{"old-story"}}
	ep, key, err := s.Create(context.Background(), in, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ep.Events, []string{TypeCreated, TypeRetracted}) || !slices.Equal(ep.Filter.Regions, []string{"asia", "europe"}) || !strings.HasPrefix(key, SecretPrefix) {
		t.Errorf("created %+v with secret %q", ep, key)
	}
}
