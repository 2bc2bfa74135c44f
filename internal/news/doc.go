// Package news is the domain of Newsflash: the breaking-news Item, the Event
// that changes it (item, update, retract), the reader Filter, the Taxonomy of
// regions, topics and languages, and the validation of editor input.
//
// It is pure: it imports nothing of ours, does no I/O and keeps no state, so
// every type here is safe to share between goroutines once built. Values are
// treated as plain text everywhere; nothing here interprets markup.
package news
