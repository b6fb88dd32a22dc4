package identity

import (
	"errors"
	"strings"
	"testing"
)

func TestParseConferenceID(t *testing.T) {
	var want ConferenceID
	for i := range want {
		want[i] = byte(i * 7)
	}
	got, err := ParseConferenceID("  " + strings.ToUpper(want.String()) + "\n")
	if err != nil || got != want {
		t.Fatalf("ParseConferenceID(String()) = %x, %v", got, err)
	}
	for _, bad := range []string{"", "00", strings.Repeat("g", 66), want.String() + "00"} {
		if _, err := ParseConferenceID(bad); !errors.Is(err, ErrBadConferenceID) {
			t.Errorf("ParseConferenceID(%q) = %v, want ErrBadConferenceID", bad, err)
		}
	}
	if want.Type() != 0 || want.Short() != want.String()[:8] {
		t.Errorf("Type/Short = %d %q", want.Type(), want.Short())
	}
}
