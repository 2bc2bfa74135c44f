package pushsink

import (
	"errors"
	"testing"
	"time"
)

func TestVerifyVAPIDHeaderForms(t *testing.T) {
	snd := newSender(t)
	now := time.Now()
	exp := now.Add(time.Hour).Unix()
	jwt := vapidJWT(t, snd.priv, map[string]any{"aud": "https://push.example.net:8443", "exp": exp, "sub": "https://news.example.com/contact"})

	for _, tc := range []struct {
		name, header string
		err          error
	}{
		{"canonical", "vapid t=" + jwt + ", k=" + snd.pub, nil},
		{"quoted, reordered, case", `VAPID k="` + snd.pub + `",t="` + jwt + `"`, nil},
		{"padded k", "vapid t=" + jwt + ", k=" + snd.pub + "=", nil},
		{"empty", "", ErrNoVAPID},
		{"old WebPush scheme", "WebPush " + jwt, ErrNoVAPID},
		{"bearer", "Bearer " + jwt, ErrNoVAPID},
		{"no k", "vapid t=" + jwt, ErrVAPID},
		{"k not a point", "vapid t=" + jwt + ", k=AAAA", ErrVAPID},
		{"not a JWS", "vapid t=abc, k=" + snd.pub, ErrVAPID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub, gotExp, k, err := VerifyVAPID(tc.header, "https://push.example.net:8443", now)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err == nil && (sub != "https://news.example.com/contact" || gotExp.Unix() != exp || k == "") {
				t.Fatalf("sub %q exp %v k %q", sub, gotExp, k)
			}
		})
	}

	// The clock is the caller's: the same token is expired 2h later.
	if _, _, _, err := VerifyVAPID("vapid t="+jwt+", k="+snd.pub, "https://push.example.net:8443", now.Add(2*time.Hour)); !errors.Is(err, ErrVAPID) {
		t.Fatalf("2h later: %v, want ErrVAPID", err)
	}
}
