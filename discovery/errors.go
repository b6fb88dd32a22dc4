package discovery

import "errors"

// Errors, for errors.Is.
var (
	// ErrDisabled: the service runs in no-DHT mode.
	ErrDisabled = errors.New("dht is disabled")
	// ErrClosed: the service has stopped.
	ErrClosed = errors.New("dht stopped")
	// ErrNotFound: no item for the ID on the DHT.
	ErrNotFound = errors.New("not found on the dht")
	// ErrNoNodes: no DHT node is known and no bootstrap router answered.
	ErrNoNodes = errors.New("no dht nodes reachable")
	// ErrBusy: too many lookups are queued.
	ErrBusy = errors.New("too many dht lookups queued")
	// ErrMalformed: item bytes that do not follow the format.
	ErrMalformed = errors.New("malformed dht item")
	// ErrTooLarge: a record that does not fit in a BEP 44 value.
	ErrTooLarge = errors.New("dht record too large")
	// ErrWrongKey: an item signed by another key than the ID's.
	ErrWrongKey = errors.New("dht item has the wrong key")
	// ErrBadSignature: the BEP 44 signature does not verify.
	ErrBadSignature = errors.New("dht item signature does not verify")
	// ErrStaleSeq: an item older than one already seen for the ID.
	ErrStaleSeq = errors.New("dht item sequence number is lower than one already seen")
	// ErrBadBootstrap: a bootstrap router that is not host:port.
	ErrBadBootstrap = errors.New("bad bootstrap address")
	// ErrUnchanged: a background lookup found only the item already seen.
	ErrUnchanged = errors.New("dht item unchanged since the last lookup")
	// ErrDecrypt: the value does not decrypt with the ID's key.
	ErrDecrypt = errors.New("dht item does not decrypt")
)
