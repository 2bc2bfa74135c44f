package push

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"newsflash/internal/news"
	"newsflash/internal/pushpolicy"
	"newsflash/internal/pushsink"
)

// TestJobEndsWhenFinalSaveFails: a job whose final progress cannot be
// saved (here its bucket is deleted while it sends) ends: an error log
// line names it, push_jobs_failed_total counts it, and the work queue
// neither keeps nor redelivers it.
func TestJobEndsWhenFinalSaveFails(t *testing.T) {
	env := newTestEnv(t, 1, pushsink.Options{})
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(arrived) })
		<-release
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(svc.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	policy, err := pushpolicy.New(pushpolicy.Options{InsecureTestEndpoints: []string{strings.TrimPrefix(svc.URL, "http://")}})
	if err != nil {
		t.Fatal(err)
	}
	env.s.policy, env.s.client = policy, policy.Client()
	ps, err := env.sink.Subscribe(env.url) // for a key pair
	if err != nil {
		t.Fatal(err)
	}
	ep := svc.URL + "/push/1"
	env.store(t, Subscription{ID: IDFor(ep), Endpoint: ep, P256dh: ps.Keys.P256dh, Auth: ps.Keys.Auth})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	wctx, stopWorkers := context.WithCancel(ctx)
	workersDone := make(chan struct{})
	go func() { defer close(workersDone); _ = env.s.work(wctx) }()
	t.Cleanup(func() { stopWorkers(); <-workersDone })

	e := env.post("Saved nowhere", news.PriorityFlash)
	j := job{Seq: e.Event.Seq, Item: e.Event.Item.ID}
	data, _ := json.Marshal(j)
	if _, err := env.js.Publish(ctx, testLayout.PushJobsSubject(), data); err != nil {
		t.Fatal(err)
	}
	select {
	case <-arrived:
	case <-ctx.Done():
		t.Fatal("the job sent nothing")
	}
	if err := env.js.DeleteKeyValue(ctx, testLayout.PushProgressBucket()); err != nil {
		t.Fatal(err)
	}
	close(release)

	failed := env.s.cfg.Metrics.PushJobsFailed
	for counterValue(t, failed) < 1 {
		if ctx.Err() != nil {
			t.Fatalf("push_jobs_failed_total still 0; logs:\n%s", env.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(env.logs.String(), "level=ERROR msg=\"push: job ended without its progress saved\" job="+j.key()) {
		t.Fatalf("no error log line for the job in:\n%s", env.logs.String())
	}
	// Nothing left to redeliver: the queue and the workers' consumer are empty.
	for {
		info, err := env.s.jobs.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ci, err := env.s.cfg.JetStream.Consumer(ctx, info.Config.Name, testLayout.PushWorkersConsumer())
		if err != nil {
			t.Fatal(err)
		}
		cinfo, err := ci.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs == 0 && cinfo.NumAckPending == 0 && cinfo.NumPending == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the work queue holds %d jobs, %d unacknowledged", info.State.Msgs, cinfo.NumAckPending)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := counterValue(t, failed); n != 1 {
		t.Fatalf("push_jobs_failed_total %v, want 1", n)
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
