package conference

// MessageText returns the text of a stored MESSAGE or ACTION body (as
// MessageRow.Body holds it) and whether it is an action. ok is false for
// every other kind (names, titles, membership), which have no chat text.
func MessageText(kind byte, body []byte) (text string, action, ok bool) {
	switch kind {
	case KindMessage:
		return textOf(body), false, true
	case KindAction:
		return textOf(body), true, true
	}
	return "", false, false
}
