package node

import "confchat/identity"

// ConferenceID is a conference's 33-byte id, shown as 66 hex characters.
type ConferenceID = identity.ConferenceID
