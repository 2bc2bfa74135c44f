package stream

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// auditConfig is the audit stream: no subjects of its own, a server-side
// copy of the news stream and of the editor accounts' bucket (JetStream
// sourcing), and of the scheduled items' and the stories' buckets, kept for AuditMaxAge with
// the news stream's storage and replicas. JetStream copies every event the
// news stream has acknowledged, in order, and resumes after restarts and
// leader changes by itself, so no write path can store an event and miss
// its audit record. Copies keep their subjects (Layout.ItemSubject) and
// carry the source's seq in the Nats-Stream-Source header. Account changes
// are copied the same way, so a change and its audit record are one write.
//
// When it is first created it copies what the news stream still holds.
func (s *Stream) auditConfig() jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        s.Layout().AuditStream(),
		Description: "Newsflash audit trail: a copy of every news event, editor account change, scheduled item change and story change, kept longer",
		Sources:     []*jetstream.StreamSource{{Name: s.Layout().NewsStream()}, {Name: s.Layout().EditorsKVStream()}, {Name: s.Layout().ScheduledKVStream()}, {Name: s.Layout().StoriesKVStream()}},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Storage:     jetstream.FileStorage,
		Replicas:    s.cfg.Replicas,
		MaxAge:      s.cfg.AuditMaxAge,
		Duplicates:  2 * time.Minute,
		DenyDelete:  true,
		DenyPurge:   true,
	}
}
