package fcmtest_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"newsflash/internal/fcm"
	"newsflash/internal/fcm/fcmtest"
)

func start(t *testing.T) (*fcmtest.Server, *rsa.PrivateKey, map[string]string) {
	t.Helper()
	s := fcmtest.New(fcmtest.Options{})
	t.Cleanup(s.Close)
	var sa map[string]string
	if err := json.Unmarshal(s.CredentialsJSON(), &sa); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(sa["private_key"]))
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return s, k.(*rsa.PrivateKey), sa
}

func sign(key *rsa.PrivateKey, header, claims map[string]any) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	sum := sha256.Sum256([]byte(in))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func grant(t *testing.T, s *fcmtest.Server, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := s.Client().PostForm(s.TokenURI(), form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

const bearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// TestTokenEndpoint checks the assertion strictly: each bad part refused
// with invalid_grant, nothing granted.
func TestTokenEndpoint(t *testing.T) {
	s, key, sa := start(t)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	now := time.Now().Unix()
	claims := func(change map[string]any) map[string]any {
		c := map[string]any{"iss": sa["client_email"], "aud": s.TokenURI(), "scope": fcm.Scope, "iat": now, "exp": now + 3600}
		for k, v := range change {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	hdr := map[string]any{"alg": "RS256", "typ": "JWT", "kid": sa["private_key_id"]}
	cases := []struct {
		name      string
		grantType string
		assertion string
		status    int
		code      string
	}{
		{"good", bearer, sign(key, hdr, claims(nil)), 200, ""},
		{"good, two scopes", bearer, sign(key, hdr, claims(map[string]any{"scope": "openid " + fcm.Scope})), 200, ""},
		{"grant type", "client_credentials", sign(key, hdr, claims(nil)), 400, "unsupported_grant_type"},
		{"not a JWT", bearer, "abc", 400, "invalid_grant"},
		{"other key", bearer, sign(other, hdr, claims(nil)), 400, "invalid_grant"},
		{"alg none", bearer, sign(key, map[string]any{"alg": "none"}, claims(nil)), 400, "invalid_grant"},
		{"other kid", bearer, sign(key, map[string]any{"alg": "RS256", "kid": "x"}, claims(nil)), 400, "invalid_grant"},
		{"other iss", bearer, sign(key, hdr, claims(map[string]any{"iss": "x@y"})), 400, "invalid_grant"},
		{"other aud", bearer, sign(key, hdr, claims(map[string]any{"aud": "https://oauth2.googleapis.com/token"})), 400, "invalid_grant"},
		{"no scope", bearer, sign(key, hdr, claims(map[string]any{"scope": nil})), 400, "invalid_grant"},
		{"other scope", bearer, sign(key, hdr, claims(map[string]any{"scope": "https://www.googleapis.com/auth/cloud-platform"})), 400, "invalid_grant"},
		{"expired", bearer, sign(key, hdr, claims(map[string]any{"iat": now - 7200, "exp": now - 3600})), 400, "invalid_grant"},
		{"iat in the future", bearer, sign(key, hdr, claims(map[string]any{"iat": now + 600, "exp": now + 1200})), 400, "invalid_grant"},
		{"longer than an hour", bearer, sign(key, hdr, claims(map[string]any{"exp": now + 7200})), 400, "invalid_grant"},
		{"no iat", bearer, sign(key, hdr, claims(map[string]any{"iat": nil})), 400, "invalid_grant"},
	}
	granted := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, out := grant(t, s, url.Values{"grant_type": {tc.grantType}, "assertion": {tc.assertion}})
			if status != tc.status {
				t.Fatalf("status %d (%v), want %d", status, out, tc.status)
			}
			if tc.status == 200 {
				granted++
				if out["token_type"] != "Bearer" || out["access_token"] == "" || out["expires_in"] != float64(3600) {
					t.Errorf("grant = %v", out)
				}
			} else if out["error"] != tc.code {
				t.Errorf("error = %v, want %s", out, tc.code)
			}
		})
	}
	if s.Grants() != granted {
		t.Errorf("grants = %d, want %d", s.Grants(), granted)
	}
}

// accessToken gets a token from the stand-in.
func accessToken(t *testing.T, s *fcmtest.Server, key *rsa.PrivateKey, sa map[string]string) string {
	now := time.Now().Unix()
	status, out := grant(t, s, url.Values{"grant_type": {bearer}, "assertion": {sign(key, map[string]any{"alg": "RS256"},
		map[string]any{"iss": sa["client_email"], "aud": s.TokenURI(), "scope": fcm.Scope, "iat": now, "exp": now + 3600})}})
	if status != 200 {
		t.Fatalf("grant: %d %v", status, out)
	}
	return out["access_token"].(string)
}

const goodItem = `{"message":{"token":"tok","notification":{"title":"Flash","body":"Text"},
"data":{"type":"item","id":"X1","seq":"7","version":"1","lang":"en","priority":"flash","url":"https://n.example/1"},
"android":{"collapse_key":"X1","priority":"HIGH","ttl":"21600s","notification":{"tag":"X1","channel_id":"newsflash_flash"}}}}`

const goodRetract = `{"message":{"token":"tok","data":{"type":"retract","id":"X1"},"android":{"priority":"HIGH","ttl":"60s"}}}`

// TestSendChecks posts raw bodies and checks that the stand-in refuses
// each wrong field as FCM would (400 INVALID_ARGUMENT naming it), and
// refuses bad authorisation, another project and HTTP/1.1.
func TestSendChecks(t *testing.T) {
	s, key, sa := start(t)
	tok := accessToken(t, s, key, sa)
	h1 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.CertPool()}}}
	sendURL := s.URL() + "/v1/projects/" + s.ProjectID() + "/messages:send"
	r := strings.NewReplacer
	cases := []struct {
		name   string
		client *http.Client
		url    string
		auth   string
		body   string
		status int
		field  string
	}{
		{"item", nil, "", "", goodItem, 200, ""},
		{"retract", nil, "", "", goodRetract, 200, ""},
		{"item without url", nil, "", "", r(`,"url":"https://n.example/1"`, "").Replace(goodItem), 200, ""},
		{"HTTP/1.1", h1, "", "", goodItem, 505, ""},
		{"no bearer", nil, "", "-", goodItem, 401, ""},
		{"unknown bearer", nil, "", "Bearer ya29.x", goodItem, 401, ""},
		{"other project", nil, s.URL() + "/v1/projects/other/messages:send", "", goodItem, 403, ""},
		{"unknown field", nil, "", "", r(`"token":"tok"`, `"token":"tok","apns":{}`).Replace(goodItem), 400, ""},
		{"unknown android field", nil, "", "", r(`"ttl"`, `"restricted_package_name":"x","ttl"`).Replace(goodItem), 400, ""},
		{"data value a number", nil, "", "", r(`"seq":"7"`, `"seq":7`).Replace(goodItem), 400, ""},
		{"no token", nil, "", "", r(`"token":"tok",`, "").Replace(goodItem), 400, "message"},
		{"unknown data key", nil, "", "", r(`"lang":"en"`, `"lang":"en","x":"y"`).Replace(goodItem), 400, "message.data"},
		{"no lang", nil, "", "", r(`"lang":"en",`, "").Replace(goodItem), 400, "message.data"},
		{"seq not a number", nil, "", "", r(`"seq":"7"`, `"seq":"seven"`).Replace(goodItem), 400, "message.data.seq"},
		{"type", nil, "", "", r(`"type":"item"`, `"type":"promote"`).Replace(goodItem), 400, "message.data.type"},
		{"priority", nil, "", "", r(`"priority":"flash"`, `"priority":"normal"`).Replace(goodItem), 400, "message.data.priority"},
		{"no title", nil, "", "", r(`"title":"Flash"`, `"title":""`).Replace(goodItem), 400, "message.notification"},
		{"ttl format", nil, "", "", r(`"21600s"`, `"6h"`).Replace(goodItem), 400, "message.android.ttl"},
		{"ttl too long", nil, "", "", r(`"21600s"`, `"2419201s"`).Replace(goodItem), 400, "message.android.ttl"},
		{"no ttl", nil, "", "", r(`"ttl":"21600s",`, "").Replace(goodItem), 400, "message.android.ttl"},
		{"android priority", nil, "", "", r(`"priority":"HIGH"`, `"priority":"high"`).Replace(goodItem), 400, "message.android.priority"},
		{"NORMAL for flash", nil, "", "", r(`"priority":"HIGH"`, `"priority":"NORMAL"`).Replace(goodItem), 400, "message.android.priority"},
		{"collapse key", nil, "", "", r(`"collapse_key":"X1"`, `"collapse_key":"X2"`).Replace(goodItem), 400, "message.android.collapse_key"},
		{"tag", nil, "", "", r(`"tag":"X1"`, `"tag":"X2"`).Replace(goodItem), 400, "message.android.notification.tag"},
		{"channel", nil, "", "", r(`newsflash_flash`, `newsflash_urgent`).Replace(goodItem), 400, "message.android.notification.channel_id"},
		{"too big", nil, "", "", r(`"body":"Text"`, `"body":"`+strings.Repeat("x", 4050)+`"`).Replace(goodItem), 400, "message"},
		{"retract with notification", nil, "", "", r(`"data"`, `"notification":{"title":"a","body":"b"},"data"`).Replace(goodRetract), 400, "message.notification"},
		{"retract NORMAL", nil, "", "", r(`"HIGH"`, `"NORMAL"`).Replace(goodRetract), 400, "message.android.priority"},
		{"retract with seq", nil, "", "", r(`"id":"X1"`, `"id":"X1","seq":"1"`).Replace(goodRetract), 400, "message.data"},
		{"no android", nil, "", "", `{"message":{"token":"tok","data":{"type":"retract","id":"X1"}}}`, 400, "message.android"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, u, auth := s.Client(), sendURL, "Bearer "+tok
			if tc.client != nil {
				c = tc.client
			}
			if tc.url != "" {
				u = tc.url
			}
			if tc.auth == "-" {
				auth = ""
			} else if tc.auth != "" {
				auth = tc.auth
			}
			req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, b, tc.status)
			}
			if tc.status == 200 {
				return
			}
			var g struct {
				Error struct {
					Code    int
					Status  string
					Details []struct {
						Type            string `json:"@type"`
						FieldViolations []struct{ Field string }
					}
				}
			}
			if err := json.Unmarshal(b, &g); err != nil || g.Error.Code != tc.status || g.Error.Status == "" {
				t.Fatalf("answer is not a google.rpc.Status: %s", b)
			}
			if tc.field != "" {
				found := false
				for _, d := range g.Error.Details {
					for _, v := range d.FieldViolations {
						found = found || (d.Type == fcmtest.TypeBadRequest && v.Field == tc.field)
					}
				}
				if !found {
					t.Errorf("no field violation on %s: %s", tc.field, b)
				}
			}
		})
	}
	if s.Accepted() != 3 || len(s.MessagesTo("tok")) != 3 {
		t.Errorf("accepted %d, want the 3 good messages", s.Accepted())
	}
}

// TestSendExpiredToken checks that an access token past its expires_in is
// refused.
func TestSendExpiredToken(t *testing.T) {
	var skew atomic.Int64
	s := fcmtest.New(fcmtest.Options{ExpiresIn: time.Minute,
		Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	t.Cleanup(s.Close)
	var sa map[string]string
	json.Unmarshal(s.CredentialsJSON(), &sa)
	block, _ := pem.Decode([]byte(sa["private_key"]))
	k, _ := x509.ParsePKCS8PrivateKey(block.Bytes)
	tok := accessToken(t, s, k.(*rsa.PrivateKey), sa)
	post := func() int {
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/v1/projects/"+s.ProjectID()+"/messages:send", strings.NewReader(goodItem))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post(); st != 200 {
		t.Fatalf("fresh token: %d", st)
	}
	skew.Store(int64(61 * time.Second))
	if st := post(); st != 401 {
		t.Errorf("expired token: %d, want 401", st)
	}
}

// TestDelay: with SetDelay a send counts as it arrives and is answered
// only after the wait, or never if the client gives up first (as a sender
// killed mid-send does).
func TestDelay(t *testing.T) {
	s, k, sa := start(t)
	tok := accessToken(t, s, k, sa)
	send := func(ctx context.Context) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/v1/projects/"+s.ProjectID()+"/messages:send", strings.NewReader(goodItem))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := s.Client().Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	s.SetDelay(time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { _, err := send(ctx); done <- err }()
	for s.Accepted() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("a delayed send the client gave up: %v, want context.Canceled", err)
	}
	if m := s.Messages(); len(m) != 1 || m[0].Token != "tok" {
		t.Errorf("recorded %+v, want the send given up", m)
	}
	s.SetDelay(0)
	if st, err := send(t.Context()); err != nil || st != 200 || s.Accepted() != 2 {
		t.Errorf("without delay: %d %v, accepted %d", st, err, s.Accepted())
	}
}
