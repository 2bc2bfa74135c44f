package pushpolicy

import (
	"net/url"
	"strings"
)

// redactKeep is how many characters of the endpoint's last path segment
// Redact keeps.
const redactKeep = 8

// Redact returns a form of a push endpoint fit for logs: scheme://host/, the
// first 8 characters of the path's last non-empty segment and "…". User
// info, the rest of the path, the query and the fragment are dropped. When
// the segment is 16 characters or shorter, Redact keeps only the first half,
// so the output never holds a whole segment. An endpoint that does not parse
// gives "<invalid endpoint>".
func Redact(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "<invalid endpoint>"
	}
	path := strings.TrimRight(u.EscapedPath(), "/")
	seg := path[strings.LastIndexByte(path, '/')+1:]
	keep := min(redactKeep, len(seg)/2)
	return u.Scheme + "://" + u.Host + "/" + seg[:keep] + "…"
}
