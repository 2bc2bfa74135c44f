package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"newsflash/internal/news"
	"newsflash/internal/server"
	"newsflash/internal/story"
)

// storyAnswer is GET /api/v1/stories/{slug}.
type storyAnswer struct {
	Story story.Story `json:"story"`
	Items []news.Item `json:"items"`
}

// makeStory creates a story (201) with an English title and the regions.
func (in *instance) makeStory(slug string, regions ...string) story.Story {
	in.t.Helper()
	if regions == nil {
		regions = []string{}
	}
	b, _ := json.Marshal(map[string]any{"slug": slug, "title": map[string]string{"en": "Story " + slug}, "regions": regions, "topics": []string{}})
	return decode[story.Story](in.t, in.mustAs(editorToken, "POST", "/api/v1/stories", string(b), http.StatusCreated))
}

func storyItem(text, slug string, regions ...string) string {
	b, _ := json.Marshal(map[string]any{"text": text, "lang": "en", "regions": regions, "story": slug})
	return string(b)
}

// TestStoriesBadInput: every story route, the item story fields and the
// readers' stories= refuse bad input with the contract's status, code and
// field, and store nothing.
func TestStoriesBadInput(t *testing.T) {
	in := start(t, options{deps: withRoles, mutate: func(o *server.Options) { o.Stories.MaxOpen = 2 }})
	in.makeStory("open-one", "palestine")
	in.makeStory("closed-one")
	in.mustAs(editorToken, "POST", "/api/v1/stories/closed-one/close", "", http.StatusOK)
	plain := in.post(item("no story yet", "en", []string{"mena"}, nil))
	good := `{"slug":"new-one","title":{"en":"New"}}`
	for _, tc := range []struct {
		name, token, method, path, body string
		status                          int
		code, field                     string
	}{
		// POST /stories
		{"create as reporter", reporterToken, "POST", "/api/v1/stories", good, 403, "forbidden", ""},
		{"create without a token", "", "POST", "/api/v1/stories", good, 401, "missing_token", ""},
		{"create no body", editorToken, "POST", "/api/v1/stories", "", 400, "empty_body", ""},
		{"create unknown field", editorToken, "POST", "/api/v1/stories", `{"slug":"x","title":{"en":"X"},"status":"closed"}`, 400, "unknown_field", "status"},
		{"create no slug", editorToken, "POST", "/api/v1/stories", `{"title":{"en":"X"}}`, 400, "invalid_slug", "slug"},
		{"create bad slug", editorToken, "POST", "/api/v1/stories", `{"slug":"War on Gaza","title":{"en":"X"}}`, 400, "invalid_slug", "slug"},
		{"create no title", editorToken, "POST", "/api/v1/stories", `{"slug":"x"}`, 400, "missing_title", "title"},
		{"create title unknown language", editorToken, "POST", "/api/v1/stories", `{"slug":"x","title":{"fr":"X"}}`, 400, "unknown_lang", "title"},
		{"create blank title", editorToken, "POST", "/api/v1/stories", `{"slug":"x","title":{"en":" "}}`, 400, "empty_title", "title.en"},
		{"create title too long", editorToken, "POST", "/api/v1/stories", `{"slug":"x","title":{"en":"` + strings.Repeat("x", 121) + `"}}`, 400, "title_too_long", "title.en"},
		{"create title control character", editorToken, "POST", "/api/v1/stories", `{"slug":"x","title":{"en":"a\u0007b"}}`, 400, "invalid_title", "title.en"},
		{"create title not an object", editorToken, "POST", "/api/v1/stories", `{"slug":"x","title":"X"}`, 400, "invalid_type", "title"},
		{"create unknown region", editorToken, "POST", "/api/v1/stories", `{"slug":"x","title":{"en":"X"},"regions":["atlantis"]}`, 400, "unknown_region", "regions"},
		{"create unknown topic", editorToken, "POST", "/api/v1/stories", `{"slug":"x","title":{"en":"X"},"topics":["gossip"]}`, 400, "unknown_topic", "topics"},
		{"create existing open", editorToken, "POST", "/api/v1/stories", `{"slug":"open-one","title":{"en":"X"}}`, 409, "story_exists", "slug"},
		{"create existing closed", editorToken, "POST", "/api/v1/stories", `{"slug":"closed-one","title":{"en":"X"}}`, 409, "story_exists", "slug"},
		// GET
		{"list bad status", "", "GET", "/api/v1/stories?status=gone", "", 400, "invalid_status", "status"},
		{"get unknown", "", "GET", "/api/v1/stories/no-such", "", 404, "not_found", ""},
		{"get not a slug", "", "GET", "/api/v1/stories/NOPE", "", 404, "not_found", ""},
		// PATCH
		{"patch as reporter", reporterToken, "PATCH", "/api/v1/stories/open-one", `{"title":{"en":"Y"}}`, 403, "forbidden", ""},
		{"patch empty", editorToken, "PATCH", "/api/v1/stories/open-one", `{}`, 400, "empty_patch", ""},
		{"patch slug", editorToken, "PATCH", "/api/v1/stories/open-one", `{"slug":"other"}`, 400, "unknown_field", "slug"},
		{"patch bad title", editorToken, "PATCH", "/api/v1/stories/open-one", `{"title":{}}`, 400, "missing_title", "title"},
		{"patch unknown region", editorToken, "PATCH", "/api/v1/stories/open-one", `{"regions":["atlantis"]}`, 400, "unknown_region", "regions"},
		{"patch unknown", editorToken, "PATCH", "/api/v1/stories/no-such", `{"title":{"en":"Y"}}`, 404, "not_found", ""},
		{"patch closed", editorToken, "PATCH", "/api/v1/stories/closed-one", `{"title":{"en":"Y"}}`, 409, "story_closed", ""},
		// close
		{"close as reporter", reporterToken, "POST", "/api/v1/stories/open-one/close", "", 403, "forbidden", ""},
		{"close unknown", editorToken, "POST", "/api/v1/stories/no-such/close", "", 404, "not_found", ""},
		// items
		{"post item bad story", editorToken, "POST", "/api/v1/items", storyItem("x", "War", "mena"), 400, "invalid_story", "story"},
		{"post item unknown story", editorToken, "POST", "/api/v1/items", storyItem("x", "no-such", "mena"), 400, "unknown_story", "story"},
		{"post item closed story", editorToken, "POST", "/api/v1/items", storyItem("x", "closed-one", "mena"), 400, "story_closed", "story"},
		{"post item story not a string", editorToken, "POST", "/api/v1/items", `{"text":"x","lang":"en","regions":["mena"],"story":1}`, 400, "invalid_type", "story"},
		{"dry run item closed story", editorToken, "POST", "/api/v1/items?dry_run=true", storyItem("x", "closed-one", "mena"), 400, "story_closed", "story"},
		{"schedule item closed story", editorToken, "POST", "/api/v1/items", `{"text":"x","lang":"en","regions":["mena"],"story":"closed-one","publish_at":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"}`, 400, "story_closed", "story"},
		{"patch item bad story", editorToken, "PATCH", "/api/v1/items/" + plain.ID, `{"story":"a--b"}`, 400, "invalid_story", "story"},
		{"patch item unknown story", editorToken, "PATCH", "/api/v1/items/" + plain.ID, `{"story":"no-such"}`, 400, "unknown_story", "story"},
		{"patch item closed story", editorToken, "PATCH", "/api/v1/items/" + plain.ID, `{"story":"closed-one"}`, 400, "story_closed", "story"},
		// readers
		{"items bad stories", "", "GET", "/api/v1/items?stories=Gaza", "", 400, "invalid_story", "stories"},
		{"items unknown story", "", "GET", "/api/v1/items?stories=open-one,no-such", "", 400, "unknown_story", "stories"},
		{"items too many stories", "", "GET", "/api/v1/items?stories=" + strings.Repeat("a,", news.MaxFilterValues) + "a", "", 400, "too_many_stories", "stories"},
		{"ws bad stories", "", "GET", "/api/v1/ws?stories=a_b", "", 400, "invalid_story", "stories"},
		{"ws unknown story", "", "GET", "/api/v1/ws?stories=no-such", "", 400, "unknown_story", "stories"},
		{"ws too many stories", "", "GET", "/api/v1/ws?stories=" + strings.Repeat("a,", news.MaxFilterValues) + "a", "", 400, "too_many_stories", "stories"},
		{"sse bad stories", "", "GET", "/api/v1/sse?stories=-a", "", 400, "invalid_story", "stories"},
		{"sse unknown story", "", "GET", "/api/v1/sse?stories=no-such", "", 400, "unknown_story", "stories"},
		{"sse too many stories", "", "GET", "/api/v1/sse?stories=" + strings.Repeat("a,", news.MaxFilterValues) + "a", "", 400, "too_many_stories", "stories"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{"Authorization": ""}
			if tc.token != "" {
				hdr["Authorization"] = "Bearer " + tc.token
			}
			status, _, b := in.do(tc.method, tc.path, tc.body, hdr)
			e := decode[apiError](t, b)
			if status != tc.status || e.Error.Code != tc.code || e.Error.Field != tc.field {
				t.Errorf("got %d %s field %q (%s), want %d %s field %q", status, e.Error.Code, e.Error.Field, b, tc.status, tc.code, tc.field)
			}
		})
	}
	// Nothing was stored: the stories are the two made, the item has no story.
	all := decode[struct{ Stories []story.Story }](t, in.mustAs(editorToken, "GET", "/api/v1/stories?status=all", "", 200))
	if len(all.Stories) != 2 {
		t.Errorf("stories after the bad input: %+v", all.Stories)
	}
	if got := decode[news.Item](t, in.mustAs(editorToken, "GET", "/api/v1/items/"+plain.ID, "", 200)); got.Story != "" || got.Version != 1 {
		t.Errorf("item after the bad input: %+v", got)
	}
	// The open bound: two open stories at most (closed ones do not count).
	in.makeStory("second-open")
	status, b := in.as(editorToken, "POST", "/api/v1/stories", `{"slug":"third","title":{"en":"X"}}`)
	if e := decode[apiError](t, b); status != 409 || e.Error.Code != "too_many_stories" {
		t.Errorf("over the bound: %d %s", status, b)
	}
}

// TestStoryLifecycle: a story is created, listed, read with its items,
// changed, and closed; an item moves into and out of it; once closed it
// takes no new item and is listed as closed.
func TestStoryLifecycle(t *testing.T) {
	in := start(t, options{deps: withRoles})
	st := in.makeStory("war-on-gaza", "palestine")
	if st.Status != "open" || st.ClosedAt != nil || st.Title["en"] != "Story war-on-gaza" {
		t.Fatalf("created %+v", st)
	}
	// Editors (role editor) manage stories too.
	in.mustAs(plainToken, "PATCH", "/api/v1/stories/war-on-gaza", `{"title":{"en":"War on Gaza","ar":"الحرب على غزة"},"topics":["politics"]}`, 200)
	in.makeStory("newer")
	list := decode[struct{ Stories []story.Story }](t, in.mustAs("", "GET", "/api/v1/stories", "", 200))
	if len(list.Stories) != 2 || list.Stories[0].Slug != "newer" || list.Stories[1].Title["ar"] != "الحرب على غزة" {
		t.Fatalf("open stories, newest first: %+v", list.Stories)
	}

	a := in.post(storyItem("first", "war-on-gaza", "palestine"))
	b := in.post(storyItem("second", "war-on-gaza", "mena"))
	c := in.post(item("outside", "en", []string{"palestine"}, nil))
	if a.Story != "war-on-gaza" {
		t.Fatalf("posted item %+v", a)
	}
	moved := decode[news.Item](t, in.mustAs(editorToken, "PATCH", "/api/v1/items/"+c.ID, `{"story":"war-on-gaza"}`, 200))
	if moved.Story != "war-on-gaza" {
		t.Fatalf("moved item %+v", moved)
	}
	out := decode[news.Item](t, in.mustAs(editorToken, "PATCH", "/api/v1/items/"+b.ID, `{"story":""}`, 200))
	if out.Story != "" {
		t.Fatalf("item taken out %+v", out)
	}
	got := decode[storyAnswer](t, in.mustAs("", "GET", "/api/v1/stories/war-on-gaza", "", 200))
	if got.Story.Slug != "war-on-gaza" || len(got.Items) != 2 || got.Items[0].ID != c.ID || got.Items[1].ID != a.ID {
		t.Fatalf("story answer %+v", got)
	}
	if got.Items[0].Editor != "" {
		t.Errorf("the public story answer names staff: %+v", got.Items[0])
	}

	closed := decode[story.Story](t, in.mustAs(plainToken, "POST", "/api/v1/stories/war-on-gaza/close", "", 200))
	if closed.Status != "closed" || closed.ClosedAt == nil {
		t.Fatalf("closed %+v", closed)
	}
	again := decode[story.Story](t, in.mustAs(editorToken, "POST", "/api/v1/stories/war-on-gaza/close", "", 200))
	if !again.ClosedAt.Equal(*closed.ClosedAt) {
		t.Errorf("closing twice changed it: %+v", again)
	}
	in.mustAs(editorToken, "POST", "/api/v1/items", storyItem("late", "war-on-gaza", "mena"), 400)
	// Its items stay, and readers may still filter by it.
	items := decode[struct{ Items []news.Item }](t, in.mustAs("", "GET", "/api/v1/items?stories=war-on-gaza", "", 200))
	if len(items.Items) != 2 {
		t.Errorf("items of the closed story: %+v", items.Items)
	}
	// A correction that leaves the story alone still works.
	in.mustAs(editorToken, "PATCH", "/api/v1/items/"+a.ID, `{"text":"first, corrected"}`, 200)
	for q, want := range map[string][]string{"": {"newer"}, "?status=open": {"newer"}, "?status=closed": {"war-on-gaza"}, "?status=all": {"newer", "war-on-gaza"}} {
		l := decode[struct{ Stories []story.Story }](t, in.mustAs("", "GET", "/api/v1/stories"+q, "", 200))
		var slugs []string
		for _, s := range l.Stories {
			slugs = append(slugs, s.Slug)
		}
		if strings.Join(slugs, ",") != strings.Join(want, ",") {
			t.Errorf("GET /stories%s: %v, want %v", q, slugs, want)
		}
	}
}

// TestStoryFilterReaders: readers with stories= get only the story's
// items, on WebSocket, SSE and GET /items, and combined with regions.
func TestStoryFilterReaders(t *testing.T) {
	in := start(t, options{})
	in.makeStory("gaza", "palestine")
	in.makeStory("elections")
	ws, _ := in.dialWS("stories=gaza&backfill=0")
	wsBoth, _ := in.dialWS("stories=gaza&regions=mena&backfill=0")
	sse := in.dialSSE("stories=gaza,elections&backfill=0", nil)
	if ev := sse.mustNext(); ev.Event != "welcome" {
		t.Fatalf("sse first event %+v", ev)
	}
	none := in.post(item("no story", "en", []string{"palestine"}, nil))
	pal := in.post(storyItem("gaza in palestine", "gaza", "palestine"))
	vote := in.post(storyItem("a vote", "elections", "europe"))
	mena := in.post(storyItem("gaza in mena", "gaza", "mena"))
	_ = none

	if f := ws.next(); f.Item.ID != pal.ID {
		t.Errorf("ws stories=gaza first got %s, want %s", f.Item.ID, pal.ID)
	}
	if f := ws.next(); f.Item.ID != mena.ID {
		t.Errorf("ws stories=gaza second got %s, want %s", f.Item.ID, mena.ID)
	}
	if f := wsBoth.next(); f.Item.ID != mena.ID {
		t.Errorf("ws stories=gaza&regions=mena got %s, want %s", f.Item.ID, mena.ID)
	}
	for _, want := range []string{pal.ID, vote.ID, mena.ID} {
		if got := sse.mustNext().item(t); got.ID != want {
			t.Errorf("sse got %s, want %s", got.ID, want)
		}
	}
	for q, want := range map[string][]string{
		"stories=gaza":                   {mena.ID, pal.ID},
		"stories=gaza&regions=mena":      {mena.ID},
		"stories=elections,gaza":         {mena.ID, vote.ID, pal.ID},
		"stories=elections&regions=mena": nil,
	} {
		got := decode[struct{ Items []news.Item }](t, in.mustAs("", "GET", "/api/v1/items?"+q, "", 200))
		var ids []string
		for _, it := range got.Items {
			ids = append(ids, it.ID)
		}
		if strings.Join(ids, ",") != strings.Join(want, ",") {
			t.Errorf("GET /items?%s: %v, want %v", q, ids, want)
		}
	}
}

// TestStoriesTwoInstances: a story made on one instance is known on the
// other (items may be posted into it there, readers filter by it), and a
// close on the other is seen on the first.
func TestStoriesTwoInstances(t *testing.T) {
	url := runNATS(t)
	a := start(t, options{natsURL: url})
	b := start(t, options{natsURL: url})
	a.makeStory("shared", "mena")
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		status, _, _ := b.do("GET", "/api/v1/stories/shared", "", nil)
		if status == 200 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("b does not know the story made on a: %d", status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	it := b.post(storyItem("posted on b", "shared", "mena"))
	if it.Story != "shared" {
		t.Fatalf("item on b %+v", it)
	}
	b.mustAs(editorToken, "GET", "/api/v1/items?stories=shared", "", 200)
	status, _, body := b.do("POST", "/api/v1/stories", `{"slug":"shared","title":{"en":"again"}}`, nil)
	if status != 409 || !strings.Contains(string(body), "story_exists") {
		t.Errorf("the same slug on b: %d %s", status, body)
	}
	b.mustAs(editorToken, "POST", "/api/v1/stories/shared/close", "", 200)
	for {
		status, _, body := a.do("POST", "/api/v1/items", storyItem("late on a", "shared", "mena"), nil)
		if status == 400 && strings.Contains(string(body), "story_closed") {
			break
		}
		// 201: a had not seen the close yet (allowed until it has).
		if status != 201 || ctx.Err() != nil {
			t.Fatalf("a does not see the close made on b: %d %s", status, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
