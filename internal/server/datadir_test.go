package server_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"newsflash/internal/datadir"
	"newsflash/internal/editor"
	"newsflash/internal/server"
)

// TestDataDirOneServer: a second server on a data directory in use is
// refused, naming the process that holds it, before it touches the
// directory's NATS store; once the first stops, a new one starts there and
// has what the first acknowledged.
func TestDataDirOneServer(t *testing.T) {
	a := start(t, options{})
	posted := a.post(item("kept by the first server", "en", []string{"mena"}, nil))

	eds, err := editor.ParseEditors(editorLine)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	srv, err := server.New(ctx, server.Deps{Editors: eds, Logger: testLogger(t)}, server.Options{DataDir: a.dir})
	if err == nil {
		srv.Shutdown(ctx)
		t.Fatal("a second server started on a data directory in use")
	}
	if !errors.Is(err, datadir.ErrLocked) || !strings.Contains(err.Error(), "process "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second server: %v, want ErrLocked naming PID %d", err, os.Getpid())
	}

	a.stop()
	b := start(t, options{dir: a.dir})
	if status, _, body := b.do("GET", "/api/v1/items/"+posted.ID, "", nil); status != 200 || !strings.Contains(string(body), posted.ID) {
		t.Fatalf("after the restart GET the item: %d %s", status, body)
	}
}
