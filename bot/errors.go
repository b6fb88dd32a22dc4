package bot

import (
	"context"
	"errors"
	"strings"

	"confchat/conference"
	"confchat/identity"
	"confchat/node"
)

// Application error codes. They are part of the bot API contract: stable,
// documented in docs/bot-api.md, never reused.
const (
	CodeUnknownConference = 1001
	CodeNotFriend         = 1002
	CodeBadID             = 1003
	CodeNoRequest         = 1004
	CodeNoInvite          = 1005
	CodeFriendOffline     = 1006
	CodeBadAddress        = 1007
	CodeNotMember         = 1008
	CodeSelf              = 1009
	CodeShuttingDown      = 1010
)

// appErrors maps node errors to their codes, checked in order. prefix is
// put before the error's text when the text alone does not say what was
// wrong with the request.
var appErrors = []struct {
	err    error
	code   int
	prefix string
}{
	{node.ErrUnknownConference, CodeUnknownConference, ""},
	{node.ErrNotFriend, CodeNotFriend, ""},
	{node.ErrNoRequest, CodeNoRequest, ""},
	{node.ErrNoInvite, CodeNoInvite, ""},
	{node.ErrFriendOffline, CodeFriendOffline, ""},
	{node.ErrBadAddress, CodeBadAddress, ""},
	{node.ErrNotMember, CodeNotMember, ""},
	{conference.ErrNotConnected, CodeNotMember, ""},
	{node.ErrSelf, CodeSelf, ""},
	{node.ErrNotOnDHT, CodeNotOnDHT, ""},
	{node.ErrNoAddress, CodeNoAddress, ""},
	{node.ErrClosed, CodeShuttingDown, ""},
	{context.Canceled, CodeShuttingDown, ""},
	{identity.ErrIDLength, CodeBadID, "bad ID: "},
	{identity.ErrIDNotHex, CodeBadID, "bad ID: "},
	{identity.ErrIDChecksum, CodeBadID, "bad ID: "},
	{identity.ErrInvalidPublicKey, CodeBadID, "bad ID: "},
}

// badRequest lists the errors a request itself caused (text too long or
// empty, a wrong kind of conference, a bad invite): invalid params.
var badRequest = []error{
	conference.ErrTooLong,
	conference.ErrEmpty,
	conference.ErrWrongType,
	conference.ErrBadCookie,
	conference.ErrAlreadyJoining,
	conference.ErrLeft,
	conference.ErrNoConnection,
	identity.ErrBadConferenceID,
	node.ErrEmptySearch,
	node.ErrSearchTooLong,
	node.ErrNotCursor,
}

// toAppError gives an error from the node its JSON-RPC form: a node
// sentinel its stable application code, a mistake in the request
// "invalid params", and anything else (storage, I/O, a bug) an internal
// error, so a client never retries a failing disk as if its own input
// were wrong.
func toAppError(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	for _, m := range appErrors {
		if errors.Is(err, m.err) {
			return &Error{Code: m.code, Message: m.prefix + err.Error()}
		}
	}
	for _, b := range badRequest {
		if errors.Is(err, b) {
			return &Error{Code: CodeInvalidParams, Message: "invalid params: " + strings.ReplaceAll(err.Error(), "conference: ", "")}
		}
	}
	return &Error{Code: CodeInternalError, Message: "internal error: " + err.Error()}
}
