package push

import (
	"testing"
	"time"
)

func TestStatsViewForgetsExpiredJobs(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	v := newStatsView()
	v.jobs["old.1.0"] = jobStats{progress: progress{Sent: 3}, at: now.Add(-progressTTL - time.Minute)}
	v.jobs["new.2.0"] = jobStats{progress: progress{Sent: 5}, at: now.Add(-time.Hour)}
	v.forgetExpired(now)
	if _, ok := v.jobs["old.1.0"]; ok {
		t.Fatal("a job past the bucket's TTL is still in the view")
	}
	if _, ok := v.jobs["new.2.0"]; !ok {
		t.Fatal("a live job was forgotten")
	}
	// At most one sweep a minute.
	v.jobs["old.3.0"] = jobStats{at: now.Add(-progressTTL - time.Hour)}
	v.forgetExpired(now.Add(30 * time.Second))
	if _, ok := v.jobs["old.3.0"]; !ok {
		t.Fatal("swept twice within a minute")
	}
	v.forgetExpired(now.Add(2 * time.Minute))
	if _, ok := v.jobs["old.3.0"]; ok {
		t.Fatal("the next sweep kept an expired job")
	}
}
