package push

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"

	"newsflash/internal/news"
	"newsflash/internal/pushsink"
)

// TestSendMatchesWebpushGo: the same payload sent by webpush-go (the
// reference) and by a delivery job decrypts to the same plaintext at the
// same push service, and ours carries the headers the job asks for.
func TestSendMatchesWebpushGo(t *testing.T) {
	env := newTestEnv(t, 1, pushsink.Options{})
	ps, _ := env.subscribe(t)
	for _, tc := range []struct {
		priority, urgency string
	}{
		{news.PriorityFlash, "high"},
		{news.PriorityUrgent, "high"},
		{news.PriorityBreaking, "normal"},
	} {
		t.Run(tc.priority, func(t *testing.T) {
			before := len(env.sink.Messages(ps.ID()))
			e := env.post("Reference and ours: "+tc.priority+" "+strings.Repeat("é", 200), tc.priority)
			// The payload with the subscription's receipt, which every
			// alert carries.
			want := withReceipt(encodePayload(news.EventItem, e.Event.Seq, &e.Event.Item),
				env.s.rkey.receipt(e.Event.Item.ID, platformWeb, IDFor(ps.Endpoint)))

			id := env.s.cfg.Identity
			res, err := webpush.SendNotificationWithContext(t.Context(), bytes.Clone(want),
				&webpush.Subscription{Endpoint: ps.Endpoint, Keys: webpush.Keys{Auth: ps.Keys.Auth, P256dh: ps.Keys.P256dh}},
				&webpush.Options{HTTPClient: http.DefaultClient, RecordSize: recordSize, Subscriber: id.Subscriber(),
					VAPIDPublicKey: id.PublicKey, VAPIDPrivateKey: id.privateKey, TTL: 60, Topic: e.Event.Item.ID, Urgency: webpush.Urgency(tc.urgency)})
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()

			if prog := env.deliverAll(t, e); prog[0].Sent != 1 || prog[0].Failed != 0 || !prog[0].Done {
				t.Fatalf("progress %+v, want 1 sent and done", prog[0])
			}
			msgs := env.sink.Messages(ps.ID())[before:]
			if len(msgs) != 2 {
				t.Fatalf("%d messages, want webpush-go's and ours", len(msgs))
			}
			for i, m := range msgs {
				who := [2]string{"webpush-go", "ours"}[i]
				if m.Err != nil || m.Status != http.StatusCreated {
					t.Fatalf("%s: refused with %d: %v", who, m.Status, m.Err)
				}
				if !bytes.Equal(m.Payload, want) {
					t.Fatalf("%s: payload %q, want %q", who, m.Payload, want)
				}
				if m.Topic != e.Event.Item.ID || m.Urgency != tc.urgency || m.VAPIDSub != "mailto:ops@newsroom.example" || m.VAPIDAud != env.url {
					t.Fatalf("%s: Topic %q, Urgency %q, VAPID sub %q aud %q", who, m.Topic, m.Urgency, m.VAPIDSub, m.VAPIDAud)
				}
			}
			ttl, _ := strconv.Atoi(msgs[1].TTL)
			if life := env.s.cfg.TTL[tc.priority]; ttl < int(life/time.Second)-60 || ttl > int(life/time.Second) {
				t.Fatalf("TTL %q, want about %v", msgs[1].TTL, life)
			}
		})
	}
}

// TestSendRefusesBadKeys: a stored subscription whose keys cannot be used
// (as validate would refuse them) gets no request, counts as failed with
// a log line saying why, and its failure count goes up.
func TestSendRefusesBadKeys(t *testing.T) {
	env := newTestEnv(t, 1, pushsink.Options{})
	good, _ := env.subscribe(t)
	pub, offCurve, auth := keyInputs(t)
	cases := []struct{ name, p256dh, auth, log string }{
		{"short p256dh", encodeB64(pub[:64]), auth, "p256dh is 64 bytes"},
		{"off-curve p256dh", encodeB64(offCurve), auth, "p256dh is not a point on P-256"},
		{"p256dh not base64", "!" + encodeB64(pub), auth, "p256dh is not base64url"},
		{"short auth", encodeB64(pub), encodeB64(make([]byte, 8)), "auth is 8 bytes, want 16"},
	}
	var bad []pushsink.Subscription
	for _, c := range cases {
		// A real sink subscription: a request, if one were sent, would be
		// received (and refused, since it could not decrypt).
		ps, err := env.sink.Subscribe(env.url)
		if err != nil {
			t.Fatal(err)
		}
		bad = append(bad, ps)
		env.store(t, Subscription{ID: IDFor(ps.Endpoint), Endpoint: ps.Endpoint, P256dh: c.p256dh, Auth: c.auth})
	}

	prog := env.deliverAll(t, env.post("Only the good one gets this", news.PriorityFlash))
	if p := prog[0]; p.Sent != 1 || p.Failed != len(cases) || p.Removed != 0 || len(p.Pending) != 0 {
		t.Fatalf("progress %+v, want 1 sent and %d failed", p, len(cases))
	}
	if acc, ref := env.sink.Count(); acc != 1 || ref != 0 || env.sink.Accepted(good.ID()) != 1 {
		t.Fatalf("push service got %d accepted, %d refused; want only the good subscription's request", acc, ref)
	}
	logs := env.logs.String()
	for i, c := range cases {
		if n := len(env.sink.Messages(bad[i].ID())); n != 0 {
			t.Errorf("%s: %d requests sent", c.name, n)
		}
		if !strings.Contains(logs, c.log) {
			t.Errorf("%s: no log line saying %q in\n%s", c.name, c.log, logs)
		}
		kv, err := env.s.subs.Get(context.Background(), IDFor(bad[i].Endpoint))
		if err != nil {
			t.Fatal(err)
		}
		var stored Subscription
		if err := json.Unmarshal(kv.Value(), &stored); err != nil || stored.Failures != 1 {
			t.Errorf("%s: stored failures %d (%v), want 1", c.name, stored.Failures, err)
		}
	}
	if strings.Contains(logs, cases[0].p256dh) || strings.Contains(logs, auth) {
		t.Error("a subscription key was logged")
	}
}
