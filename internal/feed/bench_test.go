package feed_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"newsflash/internal/feed"
	"newsflash/internal/history"
	"newsflash/internal/news"
)

// BenchmarkFeed is the cost of one feed request of 50 items, per format,
// through the handler (parse, list from history, ETag, encode).
func BenchmarkFeed(b *testing.B) {
	log := history.New(history.Options{})
	at := time.Now().UTC() // the log drops what is older than its MaxAge
	for i := 1; i <= 500; i++ {
		lang, text := "en", "Breaking: line "+strconv.Itoa(i)+" of a long day, with some words to make it a real length"
		if i%3 == 0 {
			lang, text = "ar", arabic
		}
		it := news.Item{ID: "item" + strconv.Itoa(i), Seq: uint64(i), PublishedSeq: uint64(i), Version: 1, Status: news.StatusLive,
			Text: text, Lang: lang, Regions: []string{"mena", "europe"}, Topics: []string{"politics"}, Priority: news.PriorityBreaking,
			PublishedAt: at, UpdatedAt: at}
		log.Append(news.Event{Type: news.EventItem, Seq: uint64(i), Item: it})
	}
	f, err := feed.New(feed.Deps{Log: log, Taxonomy: news.DefaultTaxonomy()}, feed.Options{PublicURL: "https://news.example.com"})
	if err != nil {
		b.Fatal(err)
	}
	e := gin.New()
	f.Register(e)
	for _, p := range paths {
		b.Run(p, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, p+"?limit=50", nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				e.ServeHTTP(w, req)
				if w.Code != http.StatusOK || w.Body.Len() < 50*100 {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}
