//go:build !unix || newsflash_portable

package server

// defaultMaxReaders is 0, no limit: Windows has no limit on open files for
// sockets to leave room under (and with the newsflash_portable build tag
// the Unix limit is not read).
func defaultMaxReaders() int { return 0 }
