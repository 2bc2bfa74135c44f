package bench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// standInWait bounds how long push waits for a separately started server
// to have a platform on (it answers 503 platform_disabled until then).
const standInWait = 2 * time.Minute

// deviceToken is device i's token of the run on a platform, in the form
// the server checks: 64 hex digits for iOS, 100 or more characters of
// A-Z a-z 0-9 _ : - for Android.
func deviceToken(run, platform string, i int) string {
	sum := sha256.Sum256([]byte(run + "/" + platform + "/" + strconv.Itoa(i)))
	h := hex.EncodeToString(sum[:])
	if platform == PlatformIOS {
		return h
	}
	t := "bench-" + run + ":" + strconv.Itoa(i) + ":" + h
	return t + strings.Repeat("A", max(0, 120-len(t)))
}

// registerDevices registers cfg.Subs devices of a platform with the run's
// filter through POST /api/v1/devices, spread over the source addresses,
// and adds them to f's subscription figures. The first waits up to
// standInWait while the platform is off (a server still being started for
// the stand-ins). It returns the tokens registered.
func (r *runner) registerDevices(ctx context.Context, platform string, f *PushFigures) ([]string, error) {
	filter := map[string][]string{"regions": nonNil(r.filter.regions), "topics": nonNil(r.filter.topics), "langs": nonNil(r.filter.langs)}
	body := func(i int) []byte {
		b, _ := json.Marshal(map[string]any{"platform": platform, "token": deviceToken(r.run, platform, i), "filter": filter})
		if p := r.prefsMember(); p != "" {
			b = append(b[:len(b)-1], p+"}"...)
		}
		return b
	}
	start := time.Now()
	register := func(a *api, i int) error {
		return withRetry(ctx, func() error {
			return a.do(ctx, http.MethodPost, "/api/v1/devices", body(i), nil, nil, http.StatusCreated, http.StatusOK)
		})
	}
	deadline := start.Add(standInWait)
	for {
		err := register(r.api, 0)
		if err == nil {
			break
		}
		var ae *apiError
		if errors.As(err, &ae) && ae.code() == "platform_disabled" && !r.spawned && time.Now().Before(deadline) {
			if !sleepUntil(ctx, time.Now().Add(time.Second)) {
				return nil, ctx.Err()
			}
			continue
		}
		f.SubscribeFailed += r.cfg.Subs
		f.SubscribeError = err.Error()
		if rerr := asRefused("register "+platform+" device", err); rerr != err {
			return nil, rerr
		}
		return nil, fmt.Errorf("register %s device: %w", platform, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		toks     = []string{deviceToken(r.run, platform, 0)}
		firstErr error
	)
	r.each(ctx, r.cfg.Subs-1, func(a *api, i int) {
		err := register(a, i+1)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if firstErr == nil && ctx.Err() == nil {
				firstErr = err
			}
			cancel() // the same answer would come for the others
			return
		}
		toks = append(toks, deviceToken(r.run, platform, i+1))
	})
	elapsed := time.Since(start)
	f.Subscribed += len(toks)
	f.SubscribeFailed += r.cfg.Subs - len(toks)
	f.SubscribeS = round(f.SubscribeS+elapsed.Seconds(), 3)
	if f.SubscribeS > 0 {
		f.SubscribeRate = round(float64(f.Subscribed)/f.SubscribeS, 1)
	}
	if firstErr != nil {
		f.SubscribeError = firstErr.Error()
		if err := asRefused("register "+platform+" device", firstErr); err != firstErr {
			return toks, err
		}
		return toks, fmt.Errorf("register %s device: %w", platform, firstErr)
	}
	return toks, nil
}

// unregisterDevices removes the run's devices of a platform from the
// server, so that later items are not sent to stand-ins that have gone.
// It returns how many it removed.
func (r *runner) unregisterDevices(platform string, toks []string) int {
	if len(toks) == 0 {
		return 0
	}
	fmt.Fprintf(r.cfg.Log, "bench: removing %d %s devices\n", len(toks), platform)
	ctx := context.Background() // each request has its own timeout
	var removed atomic.Int64
	r.each(ctx, len(toks), func(a *api, i int) {
		b, _ := json.Marshal(map[string]string{"platform": platform, "token": toks[i]})
		if err := withRetry(ctx, func() error {
			return a.do(ctx, http.MethodDelete, "/api/v1/devices", b, nil, nil, http.StatusNoContent)
		}); err == nil {
			removed.Add(1)
		}
	})
	return int(removed.Load())
}
