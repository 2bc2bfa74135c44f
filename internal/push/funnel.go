package push

import "time"

// Funnel is what an item's alert did, in GET /api/v1/push/stats: the
// counts of the alert event's own jobs (not of later corrections, which
// ItemStats counts with it), the readers' receipts, and how long it took.
// Times count from AlertedAt, the moment the alert was sent (the 201, the
// promotion, or the scheduled time).
type Funnel struct {
	AlertedAt time.Time `json:"alerted_at"`
	FunnelCounts
	// FirstHour counts the receipts of each minute of the alert's first
	// hour (60 entries each), for the console's chart.
	FirstHour FirstHour `json:"first_hour"`
	// Platforms splits the counts by platform ("web", "android", "ios"),
	// for the platforms the alert targeted.
	Platforms map[string]FunnelCounts `json:"platforms"`
}

// FunnelCounts are one alert's counts, in total or for one platform.
//
// Targeted is every subscription whose filter or followed story matched
// the alert; each of them ends sent, failed, removed, skipped (by reason:
// SkipPriority, SkipQuietHours, SkipCap) or, while the alert's jobs run,
// pending. Shown and Clicked count receipts, each (receipt, event) once.
type FunnelCounts struct {
	Targeted    int            `json:"targeted"`
	Sent        int            `json:"sent"`
	Failed      int            `json:"failed"`
	Removed     int            `json:"removed"`
	Pending     int            `json:"pending"`
	Skipped     map[string]int `json:"skipped"`
	Shown       int            `json:"shown"`
	Clicked     int            `json:"clicked"`
	TimeToSent  *Percentiles   `json:"time_to_sent"`  // null before the first send
	TimeToShown *Percentiles   `json:"time_to_shown"` // null before the first shown receipt
}

// FirstHour are per-minute receipt counts: Shown[i] and Clicked[i] are the
// receipts that came in minute i after the alert.
type FirstHour struct {
	Shown   []int `json:"shown"`
	Clicked []int `json:"clicked"`
}

// Percentiles are the median and 90th percentile of a time, in seconds.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
}

// Reasons an alert was held back from a subscription (FunnelCounts.Skipped
// and the newsflash_push_skipped_total metric): held-back alerts are never
// sent later.
const (
	SkipPriority   = "priority"    // below the subscription's min_priority
	SkipQuietHours = "quiet_hours" // inside its quiet hours (not for flash)
	SkipCap        = "cap"         // it had max_per_hour alerts in the past hour (not for flash)
)
