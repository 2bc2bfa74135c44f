package live

import (
	"sync"
)

// runQueue hands readers with work to a few writer goroutines, instead of
// one goroutine per reader: WebSocket writes never block (a peer that
// cannot take more has its rest written by a flusher of its own), so a
// handful of workers write for every reader, each reader's frames in one
// system call.
type runQueue struct {
	// set at construction
	workers int

	// guarded by mu
	mu      sync.Mutex
	cond    sync.Cond
	items   []*reader
	started bool
	closed  bool
	wg      sync.WaitGroup
}

func newRunQueue(workers int) *runQueue {
	q := &runQueue{workers: max(1, workers)}
	q.cond.L = &q.mu
	return q
}

// push schedules readers; each must not be scheduled already (reader.running).
func (q *runQueue) push(rs ...*reader) {
	if len(rs) == 0 {
		return
	}
	q.mu.Lock()
	if !q.started {
		q.started = true
		for range q.workers {
			q.wg.Go(q.work)
		}
	}
	q.items = append(q.items, rs...)
	q.mu.Unlock()
	if len(rs) == 1 {
		q.cond.Signal()
	} else {
		q.cond.Broadcast()
	}
}

// len is how many readers wait for a worker.
func (q *runQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// workChunk is how many readers a worker takes at once.
const workChunk = 64

func (q *runQueue) work() {
	var chunk []*reader
	for {
		q.mu.Lock()
		for len(q.items) == 0 && !q.closed {
			q.cond.Wait()
		}
		if len(q.items) == 0 {
			q.mu.Unlock()
			return
		}
		n := min(len(q.items), workChunk)
		chunk = append(chunk[:0], q.items[:n]...)
		clear(q.items[:n])
		q.items = q.items[n:] // first in, first out
		if len(q.items) == 0 {
			q.items = nil // the next push starts a fresh array
		}
		q.mu.Unlock()
		for _, r := range chunk {
			r.run(r)
		}
		clear(chunk)
	}
}

// close stops the workers once the queue is empty and waits for them.
func (q *runQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
	q.wg.Wait()
}
