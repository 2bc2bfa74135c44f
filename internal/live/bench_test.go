package live

import (
	"context"
	"testing"
	"time"

	"newsflash/internal/history"
	"newsflash/internal/news"
)

func newBenchHub(b *testing.B, n, filters int) (*Hub, *history.Log, []*reader) {
	b.Helper()
	log := history.New(history.Options{})
	h, err := New(Deps{Log: log, Taxonomy: news.DefaultTaxonomy(), LastSeq: lastSeqZero}, Options{QueueSize: MaxQueueSize, ReadersPerAddress: -1})
	if err != nil {
		b.Fatal(err)
	}
	regions := []string{"africa", "asia", "asia-pacific", "europe", "latin-america", "mena", "palestine", "us-canada"}
	var rs []*reader
	for i := 0; i < n; i++ {
		f := news.Filter{Regions: []string{regions[i%filters%len(regions)]}}
		if filters > len(regions) {
			f.Langs = []string{[]string{"ar", "en", "es"}[i%3]}
		}
		r, err := h.subscribe(transportWS, resume{filter: f, backfill: 0}, "", hooks{kill: func() {}})
		if err != nil {
			b.Fatal(err)
		}
		rs = append(rs, r)
	}
	return h, log, rs
}

// BenchmarkDeliver is the fan-out of one event to 10,000 readers in 8
// filter groups: match once per group, encode once, enqueue per reader.
func BenchmarkDeliver(b *testing.B) {
	h, log, rs := newBenchHub(b, 10000, 8)
	b.ReportAllocs()
	seq := uint64(0)
	for b.Loop() {
		seq++
		e := log.Append(news.Event{Type: news.EventItem, Seq: seq, Item: news.Item{ID: news.NewID(), Seq: seq, PublishedSeq: seq,
			Version: 1, Status: news.StatusLive, Text: "Breaking: a bench item", Lang: "en", Regions: []string{"mena"},
			Priority: news.PriorityBreaking, PublishedAt: time.Unix(1_800_000_000, 0), UpdatedAt: time.Unix(1_800_000_000, 0)}})
		h.Deliver(e)
		if seq%100 == 0 { // drain as writers would
			for _, r := range rs {
				r.take(nil)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(rs)/8), "ns/delivery")
}

func BenchmarkBuildFrame(b *testing.B) {
	item := []byte(`{"id":"abcdefghijklmnopqrst","seq":42,"published_seq":42,"version":1,"status":"live","text":"Al Mayadeen's correspondent: An Israeli drone strikes a vehicle in the town of Baraachit","lang":"en","regions":["mena"],"topics":["politics"],"priority":"flash","published_at":"2026-11-28T13:00:00Z","updated_at":"2026-11-28T13:00:00Z"}`)
	b.ReportAllocs()
	for b.Loop() {
		_ = buildFrame(transportWS, kindItem, 42, item)
	}
}

func BenchmarkReaderQueue(b *testing.B) {
	r := newReader(nil, 0, 1<<20, nil, hooks{})
	frame := []byte(`{"type":"item","seq":1,"item":{}}`)
	var buf [][]byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.enqueue(frame, 0)
		if i%64 == 63 {
			buf, _, _ = r.take(buf)
		}
	}
}

func lastSeqZero(context.Context) (uint64, error) { return 0, nil }
