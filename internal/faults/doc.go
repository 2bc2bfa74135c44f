// Package faults holds fault tests with real processes: a three-node NATS
// cluster with JetStream on loopback (in-process nats-servers) and several
// `newsflash serve` processes built from this module, killed and restarted
// while items are posted, read and pushed. Each case prints a summary line
// (posted, acked, delivered, lost, duplicated) and asserts that nothing
// acknowledged is lost or delivered twice.
//
// The tests take minutes; `go test -short` skips them.
package faults
