package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// TestFollowEndedLogs: the follower's error is logged at error level,
// unless following stopped because Shutdown cancelled it.
func TestFollowEndedLogs(t *testing.T) {
	live := context.Background()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		ctx    context.Context
		err    error
		logged bool
	}{
		{"no error", live, nil, false},
		{"cancelled by Shutdown", cancelled, context.Canceled, false},
		{"error after Shutdown", cancelled, errors.New("connection closed"), false},
		{"wrapped cancel", live, fmt.Errorf("follow: %w", context.Canceled), false},
		{"stream gone", live, errors.New("stream not found"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			followEnded(tt.ctx, slog.New(slog.NewTextHandler(&buf, nil)), tt.err)
			got := buf.String()
			if !tt.logged {
				if got != "" {
					t.Errorf("logged %q, want nothing", got)
				}
				return
			}
			if !strings.Contains(got, "level=ERROR") || !strings.Contains(got, tt.err.Error()) {
				t.Errorf("logged %q, want an error naming %q", got, tt.err)
			}
		})
	}
}
