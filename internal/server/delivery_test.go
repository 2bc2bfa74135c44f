package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"newsflash/internal/news"
	"newsflash/internal/server"
)

func TestPostReachesWebSocketAndSSE(t *testing.T) {
	in := start(t, options{})
	ws, welcome := in.dialWS("regions=mena&langs=en")
	if welcome.Seq != 0 || welcome.Epoch == "" || welcome.Recovered {
		t.Fatalf("welcome on an empty stream: %+v", welcome)
	}
	if _, w := in.dialWS("since=0"); !w.Recovered || w.Backfill != 0 {
		t.Fatalf("welcome of a resume: %+v", w)
	}
	sse := in.dialSSE("regions=mena", nil)
	if w := sse.mustNext(); w.Event != "welcome" || w.ID != "0" {
		t.Fatalf("sse welcome: %+v", w)
	}

	text := "Al Mayadeen's correspondent: An Israeli drone strikes a vehicle in the town of Baraachit"
	posted := in.post(`{"text":"  ` + text + ` ","lang":"EN","regions":["MENA","palestine"],"topics":["politics"],"source":"Al Mayadeen's correspondent","priority":"flash"}`)
	if posted.Text != text || posted.Lang != "en" || posted.Version != 1 || posted.Status != "live" || posted.Seq != 1 ||
		posted.Editor != editorName || posted.Priority != "flash" || strings.Join(posted.Regions, ",") != "mena,palestine" {
		t.Fatalf("201 body: %+v", posted)
	}

	f := ws.next()
	if f.Type != "item" || f.Seq != posted.Seq || f.Item.ID != posted.ID || f.Item.Text != text {
		t.Fatalf("ws frame: %+v", f)
	}
	if f.Item.Editor != "" {
		t.Errorf("readers must not see editor names, got %q", f.Item.Editor)
	}
	ev := sse.mustNext()
	if ev.Event != "item" || ev.ID != itoa(posted.Seq) || ev.item(t).ID != posted.ID {
		t.Fatalf("sse event: %+v", ev)
	}

	// The public reads agree.
	status, _, b := in.do("GET", "/api/v1/items/"+posted.ID, "", map[string]string{"Authorization": ""})
	got := decode[news.Item](t, b)
	if status != 200 || got.ID != posted.ID || got.Text != text || got.Editor != "" {
		t.Fatalf("get item: %d %s", status, b)
	}
	status, _, b = in.do("GET", "/api/v1/items?regions=palestine", "", map[string]string{"Authorization": ""})
	list := decode[struct{ Items []news.Item }](t, b)
	if status != 200 || len(list.Items) != 1 || list.Items[0].ID != posted.ID {
		t.Fatalf("list: %d %s", status, b)
	}
}

// TestFilterMatrix posts items across regions, topics and languages and
// checks that each reader gets exactly the ones it asked for, in order.
func TestFilterMatrix(t *testing.T) {
	// Several WebSocket writers (the default on 2 CPUs is 1), so that the
	// race detector sees them share the run queue.
	in := start(t, options{mutate: func(c *server.Options) { c.Live.Writers = 4 }})
	items := []struct {
		label, lang     string
		regions, topics []string
	}{
		{"A", "en", []string{"mena"}, []string{"politics"}},
		{"B", "ar", []string{"mena", "palestine"}, []string{"politics", "health"}},
		{"C", "es", []string{"latin-america"}, []string{"sports"}},
		{"D", "en", []string{"europe"}, nil},
		{"E", "en", []string{"asia", "asia-pacific"}, []string{"economy", "technology"}},
		{"F", "ar", []string{"africa"}, []string{"environment"}},
	}
	readers := []struct {
		query string
		want  string
	}{
		{"", "ABCDEF"},
		{"regions=mena", "AB"},
		{"regions=MENA,europe", "ABD"},
		{"topics=politics", "AB"},
		{"langs=ar", "BF"},
		{"langs=en,es", "ACDE"},
		{"regions=mena&langs=ar", "B"},
		{"regions=palestine&topics=health&langs=ar", "B"},
		{"topics=sports,economy&langs=en", "E"},
		{"regions=europe&topics=politics", ""}, // D has no topics: no match
		{"regions=us-canada", ""},
		{"topics=miscellaneous,arts-culture", ""},
	}
	type conn struct {
		ws  *wsReader
		sse *sseReader
	}
	conns := make([]conn, len(readers))
	for i, r := range readers {
		ws, _ := in.dialWS(r.query + "&backfill=0")
		conns[i] = conn{ws: ws, sse: in.dialSSE(r.query+"&backfill=0", nil)}
		conns[i].sse.mustNext() // welcome
	}
	ids := map[string]string{}
	for _, it := range items {
		p := in.post(item("item "+it.label, it.lang, it.regions, it.topics))
		ids[p.ID] = it.label
	}
	// A final item for every reader marks the end of what each should get.
	end := in.post(item("end", "en", []string{"africa", "asia", "asia-pacific", "europe", "latin-america", "mena", "palestine", "us-canada"},
		[]string{"politics", "economy", "sports", "arts-culture", "health", "miscellaneous", "technology", "environment"}))
	for _, lang := range []string{"ar", "es"} {
		in.post(item("end-"+lang, lang, []string{"africa", "asia", "asia-pacific", "europe", "latin-america", "mena", "palestine", "us-canada"},
			[]string{"politics", "economy", "sports", "arts-culture", "health", "miscellaneous", "technology", "environment"}))
	}
	for i, r := range readers {
		var gotWS, gotSSE strings.Builder
		for {
			f := conns[i].ws.next()
			if f.Item.Seq >= end.Seq {
				break
			}
			gotWS.WriteString(ids[f.Item.ID])
		}
		for {
			it := conns[i].sse.mustNext().item(t)
			if it.Seq >= end.Seq {
				break
			}
			gotSSE.WriteString(ids[it.ID])
		}
		if gotWS.String() != r.want || gotSSE.String() != r.want {
			t.Errorf("reader %q: ws got %q, sse got %q, want %q", r.query, gotWS.String(), gotSSE.String(), r.want)
		}
	}
}

func TestBackfill(t *testing.T) {
	in := start(t, options{})
	var posted []news.Item
	for i := 0; i < 5; i++ {
		posted = append(posted, in.post(item(fmt.Sprintf("item %d", i), "en", []string{"europe"}, nil)))
	}
	in.post(item("other region", "en", []string{"asia"}, nil))
	retracted := in.post(item("retracted", "en", []string{"europe"}, nil))
	if status, _, b := in.do("DELETE", "/api/v1/items/"+retracted.ID, "", nil); status != 200 {
		t.Fatalf("retract: %d %s", status, b)
	}
	ws, w := in.dialWS("regions=europe&backfill=3")
	if w.Recovered || w.Seq != retracted.Seq+1 || w.Backfill != 3 {
		t.Fatalf("welcome %+v, want seq %d and recovered false", w, retracted.Seq+1)
	}
	for _, want := range posted[2:] {
		f := ws.next()
		if f.Type != "item" || f.Item.ID != want.ID || f.Seq != w.Seq {
			t.Fatalf("backfill frame %+v, want item %s (%q) with envelope seq %d", f, want.ID, want.Text, w.Seq)
		}
	}
	// Default backfill is 20: all five.
	sse := in.dialSSE("regions=europe", nil)
	sse.mustNext()
	for _, want := range posted {
		if ev := sse.mustNext(); ev.item(t).ID != want.ID || ev.ID != itoa(w.Seq) {
			t.Fatalf("sse backfill %+v, want %s", ev, want.ID)
		}
	}
	// Then live events continue after the snapshot.
	next := in.post(item("live", "en", []string{"europe"}, nil))
	if f := ws.next(); f.Item.ID != next.ID || f.Seq != next.Seq {
		t.Fatalf("after backfill: %+v", f)
	}
}

// TestResumeAcrossDisconnect keeps posting while a reader disconnects and
// comes back with since, and checks it got every item once, in order.
func TestResumeAcrossDisconnect(t *testing.T) {
	in := start(t, options{})
	const total = 60
	var mu sync.Mutex
	var posted []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < total; i++ {
			status, _, b := in.do("POST", "/api/v1/items", item(fmt.Sprintf("steady %d", i), "en", []string{"mena"}, nil), nil)
			if status != http.StatusCreated {
				t.Errorf("post %d: %d %s", i, status, b)
				return
			}
			mu.Lock()
			posted = append(posted, decode[news.Item](t, b).ID)
			mu.Unlock()
		}
	}()

	var got []string
	var last uint64
	epoch := ""
	for round := 0; len(got) < total; round++ {
		query := "regions=mena&backfill=0"
		if round > 0 {
			query = fmt.Sprintf("regions=mena&since=%d&epoch=%s", last, epoch)
		}
		ws, w := in.dialWS(query)
		if round > 0 && !w.Recovered {
			t.Fatalf("round %d: not recovered: %+v", round, w)
		}
		epoch = w.Epoch
		// The cursor: a fresh snapshot starts at the welcome's seq; a
		// resumed stream goes on from since, frame by frame.
		if !w.Recovered {
			last = w.Seq
		}
		// Read a few frames, then drop the connection mid-stream.
		for n := 0; n < 7 && len(got) < total; n++ {
			f := ws.next()
			if f.Seq <= last && round > 0 {
				t.Fatalf("round %d: frame seq %d repeats (last %d)", round, f.Seq, last)
			}
			last = f.Seq
			got = append(got, f.Item.ID)
		}
		ws.conn.CloseNow()
		if round > 3*total {
			t.Fatal("too many rounds")
		}
	}
	<-done
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(got, ",") != strings.Join(posted, ",") {
		t.Fatalf("received %d items, posted %d; sequences differ:\n got %v\nwant %v", len(got), len(posted), got, posted)
	}
}

func TestSSEResumesFromLastEventID(t *testing.T) {
	in := start(t, options{})
	a := in.post(item("a", "es", []string{"latin-america"}, nil))
	b := in.post(item("b", "es", []string{"latin-america"}, nil))
	c := in.post(item("c", "es", []string{"latin-america"}, nil))
	// Last-Event-ID wins over the since in the URL (EventSource keeps the URL).
	sse := in.dialSSE("langs=es&since=0", map[string]string{"Last-Event-ID": itoa(a.Seq)})
	// The welcome's id is the cursor (a), so that a drop during the
	// history does not skip the rest of it; its data tells the head (c).
	if w := sse.mustNext(); w.Event != "welcome" || !strings.Contains(w.Data, `"recovered":true`) ||
		!strings.Contains(w.Data, `"seq":`+itoa(c.Seq)) || w.ID != itoa(a.Seq) {
		t.Fatalf("welcome %+v", w)
	}
	for _, want := range []news.Item{b, c} {
		if ev := sse.mustNext(); ev.ID != itoa(want.Seq) || ev.item(t).ID != want.ID {
			t.Fatalf("got %+v, want %s", ev, want.ID)
		}
	}
}

func TestResumeTooOldOrOtherEpochReloads(t *testing.T) {
	in := start(t, options{})
	it := in.post(item("x", "en", []string{"europe"}, nil))
	_, w := in.dialWS("since=0&epoch=someotherepoch")
	if w.Recovered {
		t.Fatalf("another epoch must not be recovered: %+v", w)
	}
	ws, w := in.dialWS("since=0")
	if !w.Recovered {
		t.Fatalf("since 0 on a full history is recovered: %+v", w)
	}
	if f := ws.next(); f.Item.ID != it.ID || f.Seq != it.Seq {
		t.Fatalf("replay: %+v", f)
	}
	// A seq this stream never had (a reset stream) cannot be resumed.
	ws, w = in.dialWS("since=999")
	if w.Recovered || w.Seq != it.Seq {
		t.Fatalf("since beyond the stream: %+v", w)
	}
	if f := ws.next(); f.Item.ID != it.ID || f.Seq != w.Seq {
		t.Fatalf("fresh snapshot after a failed resume: %+v", f)
	}
}
