//go:build !unix

package push

import "time"

// cpuTime is not measured here.
func cpuTime() time.Duration { return 0 }
