package push

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"newsflash/internal/history"
	"newsflash/internal/news"
)

// countingProvider prepares a message as its own copy and counts how many
// it prepared; its sends return what they were given.
type countingProvider struct{ prepares atomic.Int64 }

func (p *countingProvider) prepare(m nativeMessage) prepared {
	p.prepares.Add(1)
	return &m
}

func (p *countingProvider) send(context.Context, string, string, prepared) nativeResult {
	return nativeResult{Outcome: nativeSent}
}

// TestRunNativePreparesOnce: however many sends of a job run at once, each
// platform and kind is prepared once, from the job's event, and the others
// get that same message.
func TestRunNativePreparesOnce(t *testing.T) {
	e := &history.Entry{}
	e.Event.Seq = 7
	e.Event.Item = news.Item{ID: "it1", Lang: "fr", Priority: news.PriorityFlash}
	r := &run{e: e, ttl: time.Hour}
	var fcmP, apnsP countingProvider
	kinds := []string{news.EventItem, news.EventUpdate, news.EventRetract}
	got := make([][]prepared, 64)
	var wg sync.WaitGroup
	for g := range got {
		wg.Go(func() {
			for _, k := range kinds {
				got[g] = append(got[g], r.native(platformAndroid, k, &fcmP), r.native(platformIOS, k, &apnsP))
			}
		})
	}
	wg.Wait()
	if n := fcmP.prepares.Load(); n != int64(len(kinds)) {
		t.Errorf("android: %d prepares, want %d", n, len(kinds))
	}
	if n := apnsP.prepares.Load(); n != int64(len(kinds)) {
		t.Errorf("ios: %d prepares, want %d", n, len(kinds))
	}
	for g := range got {
		for i, p := range got[g] {
			if p != got[0][i] {
				t.Fatalf("goroutine %d, message %d: another prepared message", g, i)
			}
		}
	}
	m := got[0][0].(*nativeMessage)
	want := nativeMessage{Kind: news.EventItem, Seq: 7, Item: &e.Event.Item, TTL: time.Hour, Title: Title("fr", news.PriorityFlash)}
	if *m != want {
		t.Errorf("prepared %+v, want %+v", *m, want)
	}
	if k := got[0][4].(*nativeMessage).Kind; k != news.EventRetract {
		t.Errorf("retract prepared as %q", k)
	}
}
