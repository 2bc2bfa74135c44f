// Package datadir keeps two servers off one data directory. Two servers on
// one --data-dir would run two embedded NATS servers on one JetStream store,
// and what one acknowledged could be lost when the other wrote over it. Lock
// takes an exclusive lock on DIR/LOCK (flock on Unix, LockFileEx on Windows)
// and writes the holder's PID into it, so that a second server is refused
// with a message naming the first. The operating system drops the lock when
// the holder's process ends, however it ends: a stale LOCK file never keeps
// a server from starting.
//
// Concurrency: a *Dir is released once, by its owner; no goroutines.
package datadir
