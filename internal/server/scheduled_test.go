package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"newsflash/internal/news"
	"newsflash/internal/server"
	"newsflash/internal/stream"
)

// at is an RFC 3339 time d from now.
func at(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339Nano) }

// scheduledBody is a ticker (or alert) draft due at publishAt.
func scheduledBody(text string, alert bool, publishAt string) string {
	return fmt.Sprintf(`{"text":%q,"lang":"en","regions":["mena"],"alert":%t,"publish_at":%q}`, text, alert, publishAt)
}

// itemEvents counts the news stream's events of an item.
func (in *instance) itemEvents(id string) uint64 {
	in.t.Helper()
	st := in.srv.Stream()
	subj := st.Layout().ItemSubject(id)
	str, err := st.JetStream().Stream(context.Background(), st.Layout().NewsStream())
	if err != nil {
		in.t.Fatal(err)
	}
	info, err := str.Info(context.Background(), jetstream.WithSubjectFilter(subj))
	if err != nil {
		in.t.Fatal(err)
	}
	return info.State.Subjects[subj]
}

// scheduledList is GET /items?status=... as the admin.
func (in *instance) scheduledList(status string) []news.Item {
	in.t.Helper()
	b := in.mustAs(editorToken, "GET", "/api/v1/items?status="+status, "", http.StatusOK)
	return decode[struct{ Items []news.Item }](in.t, b).Items
}

// waitLive waits until GET answers the item as live (published).
func (in *instance) waitLive(id string) news.Item {
	in.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		status, _, b := in.do("GET", "/api/v1/items/"+id, "", nil)
		if status == http.StatusOK {
			if it := decode[news.Item](in.t, b); it.Status == news.StatusLive {
				return it
			}
		}
		if time.Now().After(deadline) {
			in.t.Fatalf("item %s not published after %s: %d %s", id, wait, status, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// putRecord writes a scheduled record straight into the bucket.
func (in *instance) putRecord(r stream.Scheduled) {
	in.t.Helper()
	kv, err := in.srv.Stream().Scheduled(context.Background())
	if err != nil {
		in.t.Fatal(err)
	}
	val, _ := stream.EncodeScheduled(r)
	if _, err := kv.Put(context.Background(), r.Item.ID, val); err != nil {
		in.t.Fatal(err)
	}
}

// TestScheduleBadInputs: each bad request gets its 4xx with code and
// field, and nothing is stored or published.
func TestScheduleBadInputs(t *testing.T) {
	in := start(t, options{deps: withRoles})
	// A cancelled and a missed item to PATCH.
	cancelled := decode[news.Item](t, in.mustAs(editorToken, "POST", "/api/v1/items", scheduledBody("To cancel", false, at(time.Hour)), http.StatusCreated))
	in.mustAs(editorToken, "DELETE", "/api/v1/items/"+cancelled.ID, "", http.StatusOK)
	when := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	missed := stream.Scheduled{Item: news.Item{ID: news.NewID(), Version: 1, Status: news.StatusMissed, Text: "Missed", Lang: "en",
		Regions: []string{"mena"}, Priority: news.PriorityBreaking, Editor: editorName, PublishAt: &when},
		Status: stream.SchedMissed, Action: stream.ScheduleMiss, At: when}
	in.putRecord(missed)

	seq0, err := in.srv.Stream().LastSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, token, method, path, body string
		status                          int
		code, field                     string
	}{
		{"not RFC 3339", editorToken, "POST", "/api/v1/items", scheduledBody("x", false, "tomorrow at noon"), 400, "invalid_publish_at", "publish_at"},
		{"date only", editorToken, "POST", "/api/v1/items", scheduledBody("x", false, "2031-01-02"), 400, "invalid_publish_at", "publish_at"},
		{"a number", editorToken, "POST", "/api/v1/items", `{"text":"x","lang":"en","regions":["mena"],"publish_at":1900000000}`, 400, "invalid_publish_at", "publish_at"},
		{"in the past", editorToken, "POST", "/api/v1/items", scheduledBody("x", false, at(-time.Minute)), 400, "invalid_publish_at", "publish_at"},
		{"too far ahead", editorToken, "POST", "/api/v1/items", scheduledBody("x", false, at(31*24*time.Hour)), 400, "invalid_publish_at", "publish_at"},
		{"reporter schedules an alert", reporterToken, "POST", "/api/v1/items", scheduledBody("x", true, at(time.Hour)), 403, "forbidden", "alert"},
		{"bad text as well", editorToken, "POST", "/api/v1/items", scheduledBody("", false, at(time.Hour)), 400, "empty_text", "text"},
		{"PATCH on cancelled", editorToken, "PATCH", "/api/v1/items/" + cancelled.ID, `{"text":"again"}`, 409, "item_cancelled", ""},
		{"reschedule cancelled", editorToken, "PATCH", "/api/v1/items/" + cancelled.ID, `{"publish_at":"` + at(time.Hour) + `"}`, 409, "item_cancelled", ""},
		{"PATCH on missed", editorToken, "PATCH", "/api/v1/items/" + missed.Item.ID, `{"text":"again"}`, 409, "item_missed", ""},
		{"list scheduled without a token", "", "GET", "/api/v1/items?status=scheduled", "", 401, "missing_token", "status"},
		{"unknown status", editorToken, "GET", "/api/v1/items?status=draft", "", 400, "invalid_status", "status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{"Authorization": ""}
			if tc.token != "" {
				hdr["Authorization"] = "Bearer " + tc.token
			}
			status, _, b := in.do(tc.method, tc.path, tc.body, hdr)
			e := decode[apiError](t, b)
			if status != tc.status || e.Error.Code != tc.code || e.Error.Field != tc.field {
				t.Errorf("%d %s, want %d %s field %q", status, b, tc.status, tc.code, tc.field)
			}
		})
	}
	if got := in.scheduledList(news.StatusScheduled); len(got) != 0 {
		t.Errorf("scheduled after bad requests: %+v", got)
	}
	if c := in.scheduledList(news.StatusCancelled); len(c) != 1 || c[0].ID != cancelled.ID || c[0].Text != "To cancel" {
		t.Errorf("cancelled list %+v", c)
	}
	if m := in.scheduledList(news.StatusMissed); len(m) != 1 || m[0].ID != missed.Item.ID {
		t.Errorf("missed list %+v", m)
	}
	if seq, _ := in.srv.Stream().LastSeq(context.Background()); seq != seq0 {
		t.Errorf("the news stream moved from %d to %d", seq0, seq)
	}
}

// TestScheduleMaxPending: over --schedule-max-pending, 409
// too_many_scheduled and nothing stored; a cancel makes room.
func TestScheduleMaxPending(t *testing.T) {
	in := start(t, options{mutate: func(c *server.Options) { c.Editor.ScheduleMaxPending = 2 }})
	var ids []string
	for i := range 2 {
		it := in.post(scheduledBody(fmt.Sprint("Line ", i), false, at(time.Hour)))
		ids = append(ids, it.ID)
	}
	status, _, b := in.do("POST", "/api/v1/items", scheduledBody("One too many", false, at(time.Hour)), nil)
	if e := decode[apiError](t, b); status != http.StatusConflict || e.Error.Code != "too_many_scheduled" {
		t.Fatalf("third: %d %s", status, b)
	}
	if n := len(in.scheduledList(news.StatusScheduled)); n != 2 {
		t.Errorf("%d scheduled, want 2", n)
	}
	in.mustAs(editorToken, "DELETE", "/api/v1/items/"+ids[0], "", http.StatusOK)
	in.post(scheduledBody("Now there is room", false, at(time.Hour)))
}

// TestScheduledAlertFires: a scheduled alert is visible to editors only,
// then published at its publish_at with its alert, delivered once.
func TestScheduledAlertFires(t *testing.T) {
	env := newPushEnv(t)
	in := start(t, options{mutate: withPush(env)})
	sub := in.subscribe(env, `{}`)
	due := at(2 * time.Second)
	it := in.post(scheduledBody("Scheduled flash", true, due))
	if it.Status != news.StatusScheduled || it.PublishAt == nil || it.Seq != 0 || it.AlertedAt != nil {
		t.Fatalf("scheduled %+v", it)
	}
	if status, _, _ := in.do("GET", "/api/v1/items/"+it.ID, "", map[string]string{"Authorization": ""}); status != http.StatusNotFound {
		t.Errorf("public GET of a scheduled item: %d, want 404", status)
	}
	if got := decode[news.Item](t, in.mustAs(editorToken, "GET", "/api/v1/items/"+it.ID, "", http.StatusOK)); got.Status != news.StatusScheduled {
		t.Errorf("editor GET %+v", got)
	}
	if l := in.scheduledList(news.StatusScheduled); len(l) != 1 || l[0].ID != it.ID {
		t.Errorf("scheduled list %+v", l)
	}
	if l := decode[struct{ Items []news.Item }](t, in.mustAs(editorToken, "GET", "/api/v1/items", "", http.StatusOK)).Items; len(l) != 0 {
		t.Errorf("live list holds the scheduled item: %+v", l)
	}

	live := in.waitLive(it.ID)
	if !live.Alert || live.AlertedAt == nil || live.PublishAt == nil || !live.PublishAt.Equal(*it.PublishAt) || live.PublishedAt.Before(*it.PublishAt) {
		t.Errorf("published %+v", live)
	}
	t.Logf("published %s after its publish_at", live.PublishedAt.Sub(*it.PublishAt))
	waitPushes(t, env, 1)
	time.Sleep(time.Second) // a second delivery would come now
	if got, _ := messages(t, env, sub); len(got) != 1 || got[0].Item.ID != it.ID || got[0].Type != news.EventItem {
		t.Errorf("pushed %+v, want the alert once", got)
	}
	if n := in.itemEvents(it.ID); n != 1 {
		t.Errorf("%d events in the stream, want 1", n)
	}
	if l := in.scheduledList(news.StatusScheduled); len(l) != 0 {
		t.Errorf("scheduled list after publishing %+v", l)
	}
	// The audit trail has the scheduling and the publication.
	p := in.auditWait("item="+it.ID, 3)
	var actions []string
	for _, r := range p.Records {
		actions = append(actions, r.Action)
		if r.Editor != editorName {
			t.Errorf("audit record %s by %q", r.Action, r.Editor)
		}
	}
	want := map[string]bool{"schedule": true, "post": true, "schedule_published": true}
	for _, a := range actions {
		if !want[a] {
			t.Errorf("audit actions %v", actions)
		}
	}
}

// TestScheduleEditAndCancel: PATCH changes a scheduled item (text,
// publish_at, alert off); DELETE cancels one, which is never published.
func TestScheduleEditAndCancel(t *testing.T) {
	in := start(t, options{deps: withRoles})
	a := in.post(scheduledBody("First draft", true, at(time.Hour)))
	b := in.post(scheduledBody("To be cancelled", false, at(2*time.Second)))

	newAt := at(2 * time.Second)
	edited := decode[news.Item](t, in.mustAs(editorToken, "PATCH", "/api/v1/items/"+a.ID,
		`{"text":"Second draft","alert":false,"publish_at":"`+newAt+`"}`, http.StatusOK))
	if edited.Text != "Second draft" || edited.Alert || edited.Status != news.StatusScheduled || edited.PublishAt.Equal(*a.PublishAt) {
		t.Errorf("edited %+v", edited)
	}
	// A reporter may now change it: it no longer alerts.
	in.mustAs(reporterToken, "PATCH", "/api/v1/items/"+a.ID, `{"source":"Desk"}`, http.StatusOK)

	c := decode[news.Item](t, in.mustAs(plainToken, "DELETE", "/api/v1/items/"+b.ID, "", http.StatusOK))
	if c.Status != news.StatusCancelled {
		t.Errorf("cancelled %+v", c)
	}
	if again := decode[news.Item](t, in.mustAs(plainToken, "DELETE", "/api/v1/items/"+b.ID, "", http.StatusOK)); again.Status != news.StatusCancelled || !again.UpdatedAt.Equal(c.UpdatedAt) {
		t.Errorf("cancelled again %+v", again)
	}

	live := in.waitLive(a.ID)
	if live.Text != "Second draft" || live.Source != "Desk" || live.Alert || live.AlertedAt != nil {
		t.Errorf("published %+v", live)
	}
	time.Sleep(time.Second) // b's publish_at is past too
	if n := in.itemEvents(b.ID); n != 0 {
		t.Errorf("cancelled item: %d events", n)
	}
	if got := decode[news.Item](t, in.mustAs(editorToken, "GET", "/api/v1/items/"+b.ID, "", http.StatusOK)); got.Status != news.StatusCancelled {
		t.Errorf("GET cancelled %+v", got)
	}
	// Once published, it is a live item: DELETE retracts it.
	if r := decode[news.Item](t, in.mustAs(editorToken, "DELETE", "/api/v1/items/"+a.ID, "", http.StatusOK)); r.Status != news.StatusRetracted {
		t.Errorf("DELETE of the published item %+v", r)
	}
	status, _, body := in.do("PATCH", "/api/v1/items/"+a.ID, `{"publish_at":"`+at(time.Hour)+`"}`, nil)
	if e := decode[apiError](t, body); status != 400 || e.Error.Code != "invalid_publish_at" {
		t.Errorf("reschedule a live item: %d %s", status, body)
	}
}

// TestScheduleIdempotencyKey: a retried scheduling answers the same item.
func TestScheduleIdempotencyKey(t *testing.T) {
	in := start(t, options{})
	body := scheduledBody("Once", false, at(time.Hour))
	hdr := map[string]string{"Idempotency-Key": "sched-1"}
	s1, _, b1 := in.do("POST", "/api/v1/items", body, hdr)
	s2, h2, b2 := in.do("POST", "/api/v1/items", body, hdr)
	if s1 != 201 || s2 != 201 || h2.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("%d %s / %d %s", s1, b1, s2, b2)
	}
	if decode[news.Item](t, b1).ID != decode[news.Item](t, b2).ID {
		t.Errorf("two items for one key: %s / %s", b1, b2)
	}
	if n := len(in.scheduledList(news.StatusScheduled)); n != 1 {
		t.Errorf("%d scheduled", n)
	}
}

// TestScheduleSurvivesRestart: the only instance stops before the item is
// due and starts again: it is published.
func TestScheduleSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	in := start(t, options{dir: dir})
	it := in.post(scheduledBody("After the restart", false, at(3*time.Second)))
	in.stop()
	in = start(t, options{dir: dir})
	in.waitLive(it.ID)
	if n := in.itemEvents(it.ID); n != 1 {
		t.Errorf("%d events", n)
	}
}

// TestScheduleMissedWhileDown: no instance runs until well past
// publish_at + max late: the item is missed, not published.
func TestScheduleMissedWhileDown(t *testing.T) {
	dir := t.TempDir()
	short := func(c *server.Options) { c.Schedule.MaxLate = 500 * time.Millisecond }
	in := start(t, options{dir: dir, mutate: short})
	it := in.post(scheduledBody("Nobody was there", false, at(time.Second)))
	in.stop()
	time.Sleep(2500 * time.Millisecond)
	in = start(t, options{dir: dir, mutate: short})
	deadline := time.Now().Add(wait)
	for {
		got := decode[news.Item](t, in.mustAs(editorToken, "GET", "/api/v1/items/"+it.ID, "", http.StatusOK))
		if got.Status == news.StatusMissed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %s, want missed", got.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := in.itemEvents(it.ID); n != 0 {
		t.Errorf("missed item: %d events", n)
	}
	in.auditWait("item="+it.ID, 2) // schedule, schedule_missed
}

// TestScheduleTwoInstances: two instances on one NATS, an alert scheduled
// on one: published exactly once, delivered once.
func TestScheduleTwoInstances(t *testing.T) {
	url := runNATS(t)
	env := newPushEnv(t)
	a := start(t, options{natsURL: url, mutate: withPush(env)})
	b := start(t, options{natsURL: url, mutate: withPush(env)})
	sub := a.subscribe(env, `{}`)
	var ids []string
	for i := range 3 {
		ids = append(ids, a.post(scheduledBody(fmt.Sprint("Both instances ", i), true, at(2*time.Second))).ID)
	}
	for _, id := range ids {
		b.waitLive(id)
		if n := a.itemEvents(id); n != 1 {
			t.Errorf("item %s: %d events, want 1", id, n)
		}
	}
	waitPushes(t, env, len(ids))
	time.Sleep(time.Second)
	if got, _ := messages(t, env, sub); len(got) != len(ids) {
		t.Errorf("pushed %d, want %d: %+v", len(got), len(ids), got)
	}
	var pub float64
	for _, in := range []*instance{a, b} {
		_, _, m := in.do("GET", "/metrics", "", nil)
		var v float64
		for _, line := range splitLines(string(m)) {
			if _, err := fmt.Sscanf(line, "newsflash_scheduled_published_total %g", &v); err == nil {
				pub += v
			}
		}
	}
	if pub != float64(len(ids)) {
		t.Errorf("instances published %v in all, want %d", pub, len(ids))
	}
}

func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '\n' {
			i++
		}
		out = append(out, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return out
}

var _ = json.Marshal
