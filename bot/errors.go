package bot

import (
	"context"
	"errors"

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

// appErrors maps node errors to their codes, checked in order.
var appErrors = []struct {
	err  error
	code int
}{
	{node.ErrUnknownConference, CodeUnknownConference},
	{node.ErrNotFriend, CodeNotFriend},
	{node.ErrNoRequest, CodeNoRequest},
	{node.ErrNoInvite, CodeNoInvite},
	{node.ErrFriendOffline, CodeFriendOffline},
	{node.ErrBadAddress, CodeBadAddress},
	{node.ErrNotMember, CodeNotMember},
	{node.ErrSelf, CodeSelf},
	{node.ErrClosed, CodeShuttingDown},
	{context.Canceled, CodeShuttingDown},
	{identity.ErrIDLength, CodeBadID},
	{identity.ErrIDNotHex, CodeBadID},
	{identity.ErrIDChecksum, CodeBadID},
}

// toAppError gives a node error its stable code; other errors (bad text,
// a name too long) are invalid params, with the node's message.
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
			return &Error{Code: m.code, Message: err.Error()}
		}
	}
	return &Error{Code: CodeInvalidParams, Message: err.Error()}
}
