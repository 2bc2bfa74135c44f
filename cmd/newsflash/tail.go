package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"newsflash/internal/tail"
)

// tailCmd is `newsflash tail`: flags to tail.Options, Ctrl-C to stop.
func tailCmd(args []string, stdout, stderr io.Writer) int {
	f := newFlags("tail")
	var (
		opts tail.Options
		json bool
	)
	fs := f.fs
	fs.StringVar(&opts.Server, "server", tail.DefaultServer, "base URL of the Newsflash server")
	fs.StringVar(&opts.Regions, "regions", "", "regions to follow, comma-separated slugs (default all)")
	fs.StringVar(&opts.Topics, "topics", "", "topics to follow, comma-separated slugs (default all)")
	fs.StringVar(&opts.Langs, "langs", "", "languages to follow, comma-separated slugs (default all)")
	fs.IntVar(&opts.Backfill, "backfill", 0, "how many of the newest matching items to print first (0 to 100)")
	fs.BoolVar(&json, "json", false, `print each event as a JSON line {"type","seq","item"} instead of text`)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := f.parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.usage(stdout, "newsflash tail [flags]\n\nPrints the live feed of a server, one line per event: time, priority, id, text;\ncorrections and retractions are marked. Reconnects and resumes by itself; Ctrl-C stops")
		}
		return flagError(stderr, err)
	}
	if opts.Backfill < 0 || opts.Backfill > 100 {
		return flagError(stderr, f.invalid("backfill", "must be 0 to 100"))
	}
	opts.Status = stderr
	p := &tail.Printer{W: stdout, JSON: json}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err := tail.Run(ctx, opts, p.Print)
	var refused *tail.Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &refused):
		fmt.Fprintf(stderr, "newsflash tail: %s\n", tail.Clean(err.Error()))
		return 1
	case errors.Is(err, tail.ErrServerURL):
		return flagError(stderr, f.invalid("server", err.Error()))
	}
	fmt.Fprintf(stderr, "newsflash tail: %v\n", err)
	return 1
}
