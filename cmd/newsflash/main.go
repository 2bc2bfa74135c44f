// Command newsflash is the Newsflash breaking-news push server.
//
//	newsflash serve            run the server (embedded NATS by default)
//	newsflash token new NAME [--role ROLE]   make an editor token and its editors line
//	newsflash tail             print a server's live feed
//	newsflash version          print the build's version
//
// This package parses flags and environment into configuration and wires the
// internal packages together; it holds no logic of its own.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"newsflash/internal/editor"
	"newsflash/internal/push"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `Newsflash: real-time breaking news for news sites, over WebSocket and SSE.

Usage:
  newsflash serve [flags]        run the server (see newsflash serve --help)
  newsflash token new NAME [--role ROLE]
                                 print a fresh editor token and the line to add to the editors file
                                 (ROLE: reporter, editor or admin; no role means editor)
  newsflash vapid new            print a fresh VAPID key pair for Web Push
  newsflash tail [flags]         print the live feed of a server, one line per event (see newsflash tail --help)
  newsflash version              print the version, commit and Go version of this binary
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "token":
		return token(args[1:], stdout, stderr)
	case "vapid":
		return vapid(args[1:], stdout, stderr)
	case "tail":
		return tailCmd(args[1:], stdout, stderr)
	case "version", "--version":
		return version(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "newsflash: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func token(args []string, stdout, stderr io.Writer) int {
	const use = "usage: newsflash token new NAME [--role reporter|editor|admin]\n"
	if len(args) < 2 || args[0] != "new" {
		fmt.Fprint(stderr, use)
		return 2
	}
	// NAME and --role in either order.
	var name, role string
	haveName := false
	for rest := args[1:]; len(rest) > 0; rest = rest[1:] {
		a := rest[0]
		switch {
		case a == "--role" || a == "-role":
			if len(rest) < 2 {
				fmt.Fprint(stderr, use)
				return 2
			}
			role, rest = rest[1], rest[1:]
		case strings.HasPrefix(a, "--role=") || strings.HasPrefix(a, "-role="):
			_, role, _ = strings.Cut(a, "=")
		case !haveName && !strings.HasPrefix(a, "-"):
			name, haveName = a, true
		default:
			fmt.Fprint(stderr, use)
			return 2
		}
	}
	if !haveName {
		fmt.Fprint(stderr, use)
		return 2
	}
	var tok, line string
	var err error
	if role == "" {
		tok, line, err = editor.NewToken(name)
	} else {
		tok, line, err = editor.NewTokenRole(name, role)
	}
	if err != nil {
		fmt.Fprintf(stderr, "newsflash: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "token: %s\neditors line: %s\n", tok, line)
	fmt.Fprintf(stderr, "Give the token to %s; add the editors line to the --editors file (or NEWSFLASH_EDITOR_HASHES). Only the line is stored.\n", name)
	return 0
}

func vapid(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 || args[0] != "new" {
		fmt.Fprint(stderr, "usage: newsflash vapid new\n")
		return 2
	}
	priv, pub, err := push.GenerateKeys()
	if err != nil {
		fmt.Fprintf(stderr, "newsflash: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "NEWSFLASH_VAPID_PUBLIC_KEY=%s\nNEWSFLASH_VAPID_PRIVATE_KEY=%s\n", pub, priv)
	fmt.Fprint(stderr, "Keep the private key secret. Changing keys orphans every existing push subscription.\n")
	return 0
}

// flagError reports a usage problem in one line and the exit code 2.
func flagError(stderr io.Writer, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "newsflash: %v\n", err)
	return 2
}
