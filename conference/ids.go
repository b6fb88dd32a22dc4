package conference

import (
	"time"

	"confchat/identity"
)

// IDSize is the length of a conference identifier: type byte + 32 random bytes.
const IDSize = identity.ConferenceIDSize

// TypeText is the conference type of a text conference (Tox GROUPCHAT_TYPE_TEXT).
const TypeText byte = 0

// ID identifies a conference: byte 0 is the type, bytes 1..32 are random.
type ID = identity.ConferenceID

// Limits and protocol constants (Tox values unless noted).
const (
	MaxNameLength     = 128  // names and titles
	MaxTextLength     = 1363 // Tox MAX_GROUP_MESSAGE_DATA_LEN, for message/action text
	MaxPacketSize     = 16384
	MaxAddresses      = 8
	MaxAddressLength  = 255
	desiredClosest    = 4
	maxConnections    = 16
	defaultMaxFrozen  = 128
	peerNumberDraws   = 33
	restartMargin     = 1024 // numbering margin after a lost database
	restoreMargin     = 0    // numbering is persisted exactly, no Tox +65536 needed
	historySyncWindow = 256
)

// Defaults for Config.
const (
	DefaultFreezeAfter     = 60 * time.Second
	DefaultJoinHistory     = 100
	DefaultRetention       = 30 * 24 * time.Hour
	DefaultRetentionCount  = 10000
	DefaultHistoryRate     = 512 * 1024
	DefaultHistoryBurst    = 64 * 1024
	DefaultSyncInterval    = 3 * time.Minute
	defaultGapWait         = 150 * time.Millisecond
	defaultRequestTimeout  = 2 * time.Second
	defaultHandshakeResend = time.Second
)
