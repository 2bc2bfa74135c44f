package bench

import (
	"bytes"
	"fmt"
	"strconv"
)

// metricSample is one line of the Prometheus text format.
type metricSample struct {
	labels map[string]string
	value  float64
}

// metricSet is a parsed GET /metrics answer: samples by metric name.
type metricSet map[string][]metricSample

// parseMetrics reads the Prometheus text exposition format (version 0.0.4,
// what client_golang serves without content negotiation): one sample a line,
// `name value [timestamp]` or `name{label="value",...} value [timestamp]`;
// lines starting with # (HELP, TYPE, comments) and blank lines are skipped.
// Label values may hold \\, \" and \n escapes. It takes only what the format
// allows and says which line is wrong, rather than guessing.
func parseMetrics(b []byte) (metricSet, error) {
	m := metricSet{}
	n := 0
	for line := range bytes.Lines(b) {
		n++
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		name, s, err := parseSample(line)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d %.80q: %w", n, line, err)
		}
		m[name] = append(m[name], s)
	}
	return m, nil
}

func parseSample(line []byte) (string, metricSample, error) {
	var s metricSample
	i := 0
	for i < len(line) && isNameByte(line[i], i == 0) {
		i++
	}
	if i == 0 {
		return "", s, fmt.Errorf("no metric name")
	}
	name := string(line[:i])
	rest := line[i:]
	if len(rest) > 0 && rest[0] == '{' {
		var err error
		if s.labels, rest, err = parseLabels(rest[1:]); err != nil {
			return "", s, err
		}
	}
	f := bytes.Fields(rest)
	if len(f) < 1 || len(f) > 2 || len(rest) == 0 || (rest[0] != ' ' && rest[0] != '\t') {
		return "", s, fmt.Errorf("want a value (and at most a timestamp) after the name and labels")
	}
	v, err := strconv.ParseFloat(string(f[0]), 64)
	if err != nil {
		return "", s, fmt.Errorf("value %q is not a number", f[0])
	}
	s.value = v
	return name, s, nil
}

// parseLabels reads `label="value",...}` and returns what follows the }.
func parseLabels(b []byte) (map[string]string, []byte, error) {
	labels := map[string]string{}
	for {
		b = bytes.TrimLeft(b, " \t")
		if len(b) > 0 && b[0] == '}' {
			return labels, b[1:], nil
		}
		i := 0
		for i < len(b) && isNameByte(b[i], i == 0) && b[i] != ':' {
			i++
		}
		if i == 0 {
			return nil, nil, fmt.Errorf("bad label name")
		}
		key := string(b[:i])
		b = bytes.TrimLeft(b[i:], " \t")
		if len(b) < 2 || b[0] != '=' {
			return nil, nil, fmt.Errorf("label %s: want =\"value\"", key)
		}
		b = bytes.TrimLeft(b[1:], " \t")
		if len(b) == 0 || b[0] != '"' {
			return nil, nil, fmt.Errorf("label %s: want a quoted value", key)
		}
		var val []byte
		closed := false
		j := 1
		for ; j < len(b); j++ {
			c := b[j]
			if c == '"' {
				closed = true
				break
			}
			if c != '\\' {
				val = append(val, c)
				continue
			}
			if j++; j == len(b) {
				break
			}
			switch b[j] {
			case '\\', '"':
				val = append(val, b[j])
			case 'n':
				val = append(val, '\n')
			default:
				return nil, nil, fmt.Errorf("label %s: bad escape \\%c", key, b[j])
			}
		}
		if !closed {
			return nil, nil, fmt.Errorf("label %s: unterminated value", key)
		}
		if _, ok := labels[key]; ok {
			return nil, nil, fmt.Errorf("label %s given twice", key)
		}
		labels[key] = string(val)
		b = bytes.TrimLeft(b[j+1:], " \t")
		switch {
		case len(b) > 0 && b[0] == ',':
			b = b[1:]
		case len(b) > 0 && b[0] == '}':
		default:
			return nil, nil, fmt.Errorf("labels: want , or } after %s", key)
		}
	}
}

// isNameByte: metric and label names are [a-zA-Z_:][a-zA-Z0-9_:]*.
func isNameByte(c byte, first bool) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == ':' || !first && '0' <= c && c <= '9'
}

// get returns the sum of the samples of name that carry every label given
// as key, value pairs, and whether there was any.
func (m metricSet) get(name string, kv ...string) (float64, bool) {
	var sum float64
	found := false
next:
	for _, s := range m[name] {
		for i := 0; i+1 < len(kv); i += 2 {
			if v, ok := s.labels[kv[i]]; !ok || v != kv[i+1] {
				continue next
			}
		}
		sum += s.value
		found = true
	}
	return sum, found
}
