package pushpolicy

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	fcmToken := "dGhpcyBpcyBhIGxvbmcgRkNNIHJlZ2lzdHJhdGlvbiB0b2tlbg:APA91bHPRgkF3JUikC4ENAHEeMrd41Zxv3hVZjC9KtT8OvPVGJ"
	tests := []struct {
		endpoint string
		want     string
		secrets  []string // must not appear in the output
	}{
		{"https://fcm.googleapis.com/fcm/send/" + fcmToken, "https://fcm.googleapis.com/dGhpcyBp…", []string{fcmToken, "fcm/send"}},
		{"https://updates.push.services.mozilla.com/wpush/v2/gAAAAABkZ3Vlc3NfbWVfaWZfeW91X2Nhbg", "https://updates.push.services.mozilla.com/gAAAAABk…", []string{"gAAAAABkZ3Vlc3NfbWVfaWZfeW91X2Nhbg"}},
		{"https://web.push.apple.com/QGxhbGFsYWxhbGFsYWxhbGFsYQ", "https://web.push.apple.com/QGxhbGFs…", []string{"QGxhbGFsYWxhbGFsYWxhbGFsYQ"}},
		{"https://wns2-par02p.notify.windows.com/w/?token=BQYAAADsecretsecret", "https://wns2-par02p.notify.windows.com/…", []string{"token", "BQYAAADsecretsecret"}},
		{"https://fcm.googleapis.com/fcm/send/abcdefghij/", "https://fcm.googleapis.com/abcde…", []string{"abcdefghij"}},
		{"https://fcm.googleapis.com/fcm/send/abc", "https://fcm.googleapis.com/a…", []string{"abc"}},
		{"https://user:hunter2@fcm.googleapis.com/fcm/send/tokentokentokentoken#frag", "https://fcm.googleapis.com/tokentok…", []string{"hunter2", "user", "tokentokentokentoken", "frag"}},
		{"http://127.0.0.1:41234/push/abcdefghijklmnopq", "http://127.0.0.1:41234/abcdefgh…", []string{"abcdefghijklmnopq"}},
		{"https://fcm.googleapis.com", "https://fcm.googleapis.com/…", nil},
		{"not a url", "<invalid endpoint>", []string{"not a url"}},
		{"https://fcm.googleapis.com/\x00secret", "<invalid endpoint>", []string{"secret"}},
	}
	for _, tt := range tests {
		got := Redact(tt.endpoint)
		if got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.endpoint, got, tt.want)
		}
		for _, s := range tt.secrets {
			if strings.Contains(got, s) {
				t.Errorf("Redact(%q) = %q contains %q", tt.endpoint, got, s)
			}
		}
		if got == tt.endpoint {
			t.Errorf("Redact(%q) returned the endpoint unchanged", tt.endpoint)
		}
	}
}
