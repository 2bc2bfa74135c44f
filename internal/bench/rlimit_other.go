//go:build !unix || newsflash_portable

package bench

// noFileLimit stands for a limit on open files the tool does not know:
// Windows has none for sockets, and with the newsflash_portable build tag
// the limit is left as the Go runtime set it.
const noFileLimit = 1 << 30

// raiseFileLimit changes nothing and reports noFileLimit.
func raiseFileLimit() (int, error) { return noFileLimit, nil }
