package bot

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// nospamLen is the length of a nospam in hex: 4 bytes, as in the ID.
const nospamLen = 8

func formatNospam(v uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// parseNospam reads the 8 hex characters an ID carries after the key.
func parseNospam(s string) (uint32, error) {
	if len(s) != nospamLen {
		return 0, Errorf(CodeInvalidParams, "invalid params: nospam must be %d hex characters, got %d", nospamLen, len(s))
	}
	var b [4]byte
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return 0, Errorf(CodeInvalidParams, "invalid params: nospam is not hexadecimal")
	}
	return binary.BigEndian.Uint32(b[:]), nil
}

// selfSetNospam changes the nospam of our ID (random when omitted): friend
// requests made with the old ID are ignored from then on.
func (s *Server) selfSetNospam(ctx context.Context, p struct {
	Nospam *string `json:"nospam"`
}) (any, error) {
	var v *uint32
	if p.Nospam != nil {
		n, err := parseNospam(*p.Nospam)
		if err != nil {
			return nil, err
		}
		v = &n
	}
	id, err := s.node.SetNospam(ctx, v)
	if err != nil {
		return nil, err
	}
	return map[string]string{"id": id.String()}, nil
}
