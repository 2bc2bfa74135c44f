//go:build linux && !newsflash_portable

package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTick is the unit of utime and stime in /proc/<pid>/stat: USER_HZ,
// which sysconf(_SC_CLK_TCK) reports and which is 100 on every Linux
// architecture Go supports.
const clockTick = 10 * time.Millisecond

// procPath is /proc/<pid>/<name>, or /proc/self/<name> for pid 0.
func procPath(pid int, name string) string {
	if pid == 0 {
		return "/proc/self/" + name
	}
	return "/proc/" + strconv.Itoa(pid) + "/" + name
}

// readCPU returns the user plus system CPU time a process has used.
func readCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(procPath(pid, "stat"))
	if err != nil {
		return 0, fmt.Errorf("read CPU time: %w", err)
	}
	ticks, err := parseStatCPU(b)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", procPath(pid, "stat"), err)
	}
	return time.Duration(ticks) * clockTick, nil
}

// parseStatCPU returns utime+stime, in clock ticks, from the contents of
// /proc/<pid>/stat. The command name (field 2) is in parentheses and may
// itself hold spaces and parentheses, so fields are counted from the last
// ')': after it come state (field 3) ... utime (14) and stime (15).
func parseStatCPU(b []byte) (uint64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("no command name in stat")
	}
	fields := bytes.Fields(b[i+1:])
	if len(fields) < 13 {
		return 0, errors.New("stat has too few fields")
	}
	utime, err1 := strconv.ParseUint(string(fields[11]), 10, 64)
	stime, err2 := strconv.ParseUint(string(fields[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("stat utime or stime is not a number")
	}
	return utime + stime, nil
}

// readRSS returns a process's resident set size in KiB (VmRSS).
func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile(procPath(pid, "status"))
	if err != nil {
		return 0, fmt.Errorf("read RSS: %w", err)
	}
	kib, err := parseStatusKiB(b, "VmRSS:")
	if err != nil {
		return 0, fmt.Errorf("%s: %w", procPath(pid, "status"), err)
	}
	return kib, nil
}

// parseStatusKiB returns the value of a "Key:   1234 kB" line of
// /proc/<pid>/status.
func parseStatusKiB(b []byte, key string) (int64, error) {
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte(key))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("unexpected %s line %q", key, bytes.TrimSpace(line))
		}
		return strconv.ParseInt(string(f[0]), 10, 64)
	}
	return 0, fmt.Errorf("no %s line", key)
}

// openFiles counts a process's open file descriptors.
func openFiles(pid int) (int, error) {
	d, err := os.Open(procPath(pid, "fd"))
	if err != nil {
		return 0, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	return len(names), err
}

// fileLimit returns a process's soft limit on open files, from
// /proc/<pid>/limits.
func fileLimit(pid int) (int, error) {
	b, err := os.ReadFile(procPath(pid, "limits"))
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte("Max open files"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) < 1 {
			break
		}
		if string(f[0]) == "unlimited" {
			return 1 << 30, nil
		}
		return strconv.Atoi(string(f[0]))
	}
	return 0, errors.New("no Max open files line")
}

// ephemeralPorts is how many local ports the kernel hands out for
// connections from one source address to one destination, from
// /proc/sys/net/ipv4/ip_local_port_range (28,232 by default).
func ephemeralPorts() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 28232
	}
	f := bytes.Fields(b)
	if len(f) != 2 {
		return 28232
	}
	lo, err1 := strconv.Atoi(string(f[0]))
	hi, err2 := strconv.Atoi(string(f[1]))
	if err1 != nil || err2 != nil || hi < lo {
		return 28232
	}
	return hi - lo + 1
}
