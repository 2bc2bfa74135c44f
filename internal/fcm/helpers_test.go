package fcm_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"newsflash/internal/fcm"
	"newsflash/internal/fcm/fcmtest"
	"newsflash/internal/news"
)

// standIn starts a stand-in for the test.
func standIn(t testing.TB) *fcmtest.Server {
	t.Helper()
	s := fcmtest.New(fcmtest.Options{})
	t.Cleanup(s.Close)
	return s
}

// client is a Client of the stand-in, trusting it by injection.
func client(t testing.TB, s *fcmtest.Server, now func() time.Time) *fcm.Client {
	t.Helper()
	c, err := fcm.New(fcm.Deps{HTTPClient: s.Client(), Now: now}, fcm.Options{Endpoint: s.URL(), Credentials: s.Credentials()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// deviceToken is an FCM-like registration token, distinct per n.
func deviceToken(n int) string {
	return "d" + strings.Repeat("x", 10) + ":APA91b" + strings.Repeat(string(rune('A'+n%26)), 140) + "_" + string(rune('a'+n/26%26))
}

func item(priority string) *news.Item {
	return &news.Item{ID: "01JXAMPLE0000000000000000" + priority[:1], Version: 2, Status: news.StatusLive,
		Text: "Parliament dissolved; elections called for June", Lang: "en", Regions: []string{"europe"},
		Topics: []string{"politics"}, URL: "https://news.example/a/1", Priority: priority}
}

func message(token, kind, priority string) fcm.Message {
	return fcm.Message{Token: token, Kind: kind, Seq: 42, Item: item(priority), TTL: 6 * time.Hour, Title: "Flash"}
}

func send(t testing.TB, c *fcm.Client, m fcm.Message) fcm.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.Send(ctx, m)
}
