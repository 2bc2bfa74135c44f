package push

import "strings"

// titles are the notification titles by language and priority, the table
// of web/static/titles.js (the service worker's, for Web Push), so that an
// app's notification reads as a browser's does; TestTitlesMatchScript keeps
// the two equal.
var titles = map[string]map[string]string{
	"en": {"flash": "FLASH", "urgent": "URGENT", "breaking": "BREAKING"},
	"ar": {"flash": "عاجل جداً", "urgent": "عاجل", "breaking": "خبر عاجل"},
	"es": {"flash": "ÚLTIMA HORA", "urgent": "URGENTE", "breaking": "ÚLTIMO MOMENTO"},
}

// Title names a priority in a language ("ar", "es-MX", …) as titles.js's
// title does: the language, else its base, else English; breaking's title
// when the priority is unknown.
func Title(lang, priority string) string {
	l := strings.ToLower(lang)
	t, ok := titles[l]
	if !ok {
		base, _, _ := strings.Cut(l, "-")
		if t, ok = titles[base]; !ok {
			t = titles["en"]
		}
	}
	if s, ok := t[priority]; ok {
		return s
	}
	return t["breaking"]
}
