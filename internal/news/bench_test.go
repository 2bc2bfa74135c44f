package news_test

import (
	"testing"

	"newsflash/internal/news"
)

func BenchmarkFilterMatch(b *testing.B) {
	f := news.Filter{Regions: []string{"mena", "palestine"}, Topics: []string{"politics"}, Langs: []string{"ar", "en"}}
	it := &news.Item{Regions: []string{"europe", "palestine"}, Topics: []string{"economy", "politics"}, Lang: "en"}
	b.ReportAllocs()
	for b.Loop() {
		if !f.Match(it) {
			b.Fatal("no match")
		}
	}
}
