package tui

import (
	"context"
	"errors"
	"strings"

	"confchat/conference"
	"confchat/identity"
	"confchat/node"
)

// describe turns a node error into a sentence a user can act on. Known
// sentinels get their own wording; anything else is shown without the
// package prefixes Go errors carry.
func describe(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, identity.ErrIDChecksum):
		return "that ID's checksum does not match — check for a typo (an ID is 76 hex characters)"
	case errors.Is(err, identity.ErrIDLength):
		return "an ID is 76 hex characters; /id shows yours"
	case errors.Is(err, identity.ErrIDNotHex):
		return "an ID has only the characters 0-9 and a-f"
	case errors.Is(err, identity.ErrInvalidPublicKey):
		return "that ID does not hold a valid public key"
	case errors.Is(err, identity.ErrBadConferenceID):
		return "that is not a conference id"
	case errors.Is(err, node.ErrSelf):
		return "that is your own ID"
	case errors.Is(err, node.ErrBadAddress):
		return "the address must be host:port, e.g. 127.0.0.1:33445"
	case errors.Is(err, node.ErrNotFriend):
		return "not a friend yet: /add them first, and wait until they accept"
	case errors.Is(err, node.ErrFriendOffline):
		return "that friend is offline right now; try again when they are online (● in the sidebar)"
	case errors.Is(err, node.ErrNoRequest):
		return "no friend request from them is pending (/requests lists them)"
	case errors.Is(err, node.ErrNoInvite):
		return "no invite to that conference is pending (/invites lists them)"
	case errors.Is(err, node.ErrUnknownConference):
		return "that conference is gone (left or never joined)"
	case errors.Is(err, node.ErrNotMember):
		return "still joining that conference; wait until its peers appear"
	case errors.Is(err, node.ErrEmptySearch):
		return "type what to search for: /search TEXT"
	case errors.Is(err, node.ErrClosed):
		return "the node has stopped"
	case errors.Is(err, conference.ErrTooLong):
		return "too long"
	case errors.Is(err, conference.ErrEmpty):
		return "empty"
	case errors.Is(err, conference.ErrNotConnected), errors.Is(err, conference.ErrAlreadyJoining):
		return "still joining that conference; wait until its peers appear"
	case errors.Is(err, conference.ErrLeft):
		return "you left that conference"
	case errors.Is(err, context.DeadlineExceeded):
		return "the node did not answer in time (busy disk?); try again"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return tidy(err.Error())
}

// tidy drops "pkg: " prefixes from an error text and starts it lowercase.
func tidy(s string) string {
	for _, p := range []string{"conference: ", "node: ", "storage: ", "netlayer: ", "peers: ", "identity: "} {
		s = strings.ReplaceAll(s, p, "")
	}
	return s
}
