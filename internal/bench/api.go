package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"newsflash/internal/news"
)

// api calls the server's HTTP API.
type api struct {
	base   string // http://addr:port, no trailing slash
	token  string // editor token, for posts and push stats
	client *http.Client
}

// apiError is an answer other than the one expected.
type apiError struct {
	status int
	body   string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%d %s", e.status, e.body)
}

// code returns the error code of a JSON error answer, "" if none.
func (e *apiError) code() string {
	var b struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(e.body), &b) != nil {
		return ""
	}
	return b.Error.Code
}

// limitFlags name, for each refusal by one of the server's limits, the
// serve flag that sets it and the value a load test from a few loopback
// addresses needs.
var limitFlags = map[string]string{
	"too_many_readers":       "--readers-per-address 0",
	"too_many_connects":      "--reader-connects-per-second 0",
	"too_many_requests":      "--api-requests-per-second 0",
	"too_many_subscriptions": "--push-subscribe-per-hour 10000 (its maximum; beyond 10,000 subscriptions an hour, add --src-ips)",
	"too_many_failures":      "--auth-failures-per-minute (and check the editor token: invalid tokens set it off)",
	"server_full":            "--max-readers 0 (and a higher ulimit -n)",
}

// refusal returns the code and the serve flag of an answer that is a
// refusal by one of the server's limits (429, or 503 server_full).
func refusal(err error) (code, flag string, ok bool) {
	var ae *apiError
	if !errors.As(err, &ae) || (ae.status != http.StatusTooManyRequests && ae.status != http.StatusServiceUnavailable) {
		return "", "", false
	}
	code = ae.code()
	flag, ok = limitFlags[code]
	return code, flag, ok
}

// refusedError is a refusal by one of the server's limits, with the serve
// flag to change.
type refusedError struct {
	what   string // the request refused
	status int
	code   string
	flag   string
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("%s: the server refused with %d %s: restart it with %s (newsflash-bench --help lists what each scenario needs)",
		e.what, e.status, e.code, e.flag)
}

// asRefused turns a limit refusal into a *refusedError naming the flag;
// other errors are returned as they are.
func asRefused(what string, err error) error {
	code, flag, ok := refusal(err)
	if !ok {
		return err
	}
	var ae *apiError
	errors.As(err, &ae)
	return &refusedError{what: what, status: ae.status, code: code, flag: flag}
}

// retryable reports whether a request may be sent again: network errors,
// 429 and 5xx, but not a refusal by one of the server's per-address or
// per-instance limits, which a retry within seconds does not lift.
func retryable(err error) bool {
	if _, _, ok := refusal(err); ok {
		return false
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status == http.StatusTooManyRequests || ae.status >= 500
	}
	return err != nil
}

// do sends one request with a timeout and decodes a JSON answer into out
// (if not nil; a *[]byte gets the body as it is) when the status is one of
// want.
func (a *api) do(ctx context.Context, method, path string, body []byte, hdr map[string]string, out any, want ...int) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return err
	}
	for _, w := range want {
		if res.StatusCode == w {
			if raw, ok := out.(*[]byte); ok {
				*raw = b
				return nil
			}
			if out != nil {
				return json.Unmarshal(b, out)
			}
			return nil
		}
	}
	return &apiError{status: res.StatusCode, body: strings.TrimSpace(string(b))}
}

// withRetry calls f up to 4 times while its error is retryable, backing
// off 250 ms, 500 ms, 1 s.
func withRetry(ctx context.Context, f func() error) error {
	var err error
	for attempt := range 4 {
		if attempt > 0 && !sleepUntil(ctx, time.Now().Add(250*time.Millisecond<<(attempt-1))) {
			return errors.Join(err, ctx.Err())
		}
		if err = f(); !retryable(err) {
			return err
		}
	}
	return err
}

// ready waits, at most wait, for GET /readyz to answer 200.
func (a *api) ready(ctx context.Context, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		err := a.do(ctx, http.MethodGet, "/readyz", nil, nil, nil, http.StatusOK)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || !sleepUntil(ctx, time.Now().Add(250*time.Millisecond)) {
			return fmt.Errorf("server at %s is not ready: %w", a.base, err)
		}
	}
}

// head returns the newest seq the server has read (GET /readyz).
func (a *api) head(ctx context.Context) (uint64, error) {
	var v struct {
		Seq uint64 `json:"seq"`
	}
	if err := a.do(ctx, http.MethodGet, "/readyz", nil, nil, &v, http.StatusOK); err != nil {
		return 0, fmt.Errorf("GET /readyz: %w", err)
	}
	return v.Seq, nil
}

// posted is the outcome of posting one item.
type posted struct {
	id   string
	sent time.Time     // when the first attempt was sent: the time in the text
	took time.Duration // until the answer, retries included
	err  error
}

// post posts item n of the run with its send time in the text, under the
// Idempotency-Key bench-<run>-<n>, so that a retry never makes two items.
func (a *api) post(ctx context.Context, run string, n int, draft news.Draft) posted {
	p := posted{sent: time.Now()}
	draft.Text = "bench " + strconv.FormatInt(p.sent.UnixNano(), 10) + " " + strconv.Itoa(n) + " " + run
	body, _ := json.Marshal(draft)
	hdr := map[string]string{"Authorization": "Bearer " + a.token, "Idempotency-Key": "bench-" + run + "-" + strconv.Itoa(n)}
	var it news.Item
	p.err = withRetry(ctx, func() error {
		return a.do(ctx, http.MethodPost, "/api/v1/items", body, hdr, &it, http.StatusCreated)
	})
	p.took = time.Since(p.sent)
	p.id = it.ID
	if p.err != nil {
		p.err = fmt.Errorf("post item %d: %w", n, p.err)
	}
	return p
}

// maxPostsInFlight bounds the posts under way at once.
const maxPostsInFlight = 32

// postAll posts items 0..items-1, one every 1/rate seconds (the first at
// once). A post that takes longer than the interval does not hold up the
// next, up to maxPostsInFlight at once.
func (a *api) postAll(ctx context.Context, run string, items int, rate float64, draft news.Draft) []posted {
	out := make([]posted, items)
	interval := time.Duration(float64(time.Second) / rate)
	sem := make(chan struct{}, maxPostsInFlight)
	var wg sync.WaitGroup
	start := time.Now()
	for n := range items {
		if !sleepUntil(ctx, start.Add(time.Duration(n)*interval)) {
			for ; n < items; n++ {
				out[n].err = ctx.Err()
			}
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[n] = a.post(ctx, run, n, draft)
		})
	}
	wg.Wait()
	return out
}

// postFigures sums the outcome of posts.
type postFigures struct {
	ok, failed int
	firstErr   error
	first      time.Time // the first send
	last       time.Time // the last answer
	took       []time.Duration
	ids        []string
}

func sumPosts(ps []posted) postFigures {
	var f postFigures
	for _, p := range ps {
		if p.err != nil {
			f.failed++
			if f.firstErr == nil {
				f.firstErr = p.err
			}
			continue
		}
		f.ok++
		f.took = append(f.took, p.took)
		f.ids = append(f.ids, p.id)
		if f.first.IsZero() || p.sent.Before(f.first) {
			f.first = p.sent
		}
		if end := p.sent.Add(p.took); end.After(f.last) {
			f.last = end
		}
	}
	return f
}
