package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"newsflash/internal/news"
)

// TestDryRunOfAScheduledPost: a dry run of a post with publish_at answers
// the item as it would be scheduled and schedules nothing; its publish_at
// is checked as the real request's.
func TestDryRunOfAScheduledPost(t *testing.T) {
	in := start(t, options{})
	at := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	body := `{"text":"Dry and scheduled","lang":"en","regions":["mena"],"alert":true,"publish_at":"` + at.Format(time.RFC3339) + `"}`
	ans := decode[struct {
		DryRun bool      `json:"dry_run"`
		Item   news.Item `json:"item"`
	}](t, in.mustAs(editorToken, "POST", "/api/v1/items?dry_run=true", body, http.StatusOK))
	if !ans.DryRun || ans.Item.Status != news.StatusScheduled || ans.Item.PublishAt == nil || !ans.Item.PublishAt.Equal(at) || !ans.Item.Alert {
		t.Fatalf("the dry run answered %+v", ans)
	}
	if ids := scheduledOnServer(t, in); len(ids) != 0 {
		t.Fatalf("a dry run scheduled %v", ids)
	}
	for _, bad := range []string{"yesterday", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)} {
		b := in.mustAs(editorToken, "POST", "/api/v1/items?dry_run=true", strings.Replace(body, at.Format(time.RFC3339), bad, 1), http.StatusBadRequest)
		if !strings.Contains(string(b), `"invalid_publish_at"`) {
			t.Errorf("publish_at %q: %s", bad, b)
		}
	}
	if ids := scheduledOnServer(t, in); len(ids) != 0 {
		t.Fatalf("scheduled %v", ids)
	}

	// A PATCH dry run of a scheduled item answers the edit as it would be
	// and changes nothing.
	real := decode[news.Item](t, in.mustAs(editorToken, "POST", "/api/v1/items", body, http.StatusCreated))
	status, b := in.as(editorToken, "PATCH", "/api/v1/items/"+real.ID+"?dry_run=true", `{"text":"Changed in a dry run"}`)
	if status != http.StatusOK || !strings.Contains(string(b), `"Changed in a dry run"`) || !strings.Contains(string(b), `"status":"scheduled"`) {
		t.Errorf("PATCH dry run of a scheduled item: %d %s, want 200 with the edited scheduled item", status, b)
	}
	if got := currentItem(t, in, real.ID); got.Text != real.Text || got.Status != news.StatusScheduled {
		t.Fatalf("a PATCH dry run (%d %s) changed the scheduled item: %+v", status, b, got)
	}
}
