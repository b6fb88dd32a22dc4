package storage

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"

	"confchat/identity"
)

// DHT state lives in settings (docs/protocol.md part 5): the highest
// BEP 44 sequence number this profile published, the routing table of
// its DHT node, and the highest sequence number seen per friend.
const (
	settingDHTSeq   = "dht_seq"
	settingDHTTable = "dht_routing_table"
	dhtSeenPrefix   = "dht_seen:"
)

// DHTSeq returns the highest sequence number this profile published on
// the DHT (0: never).
func (q queries) DHTSeq(ctx context.Context) (int64, error) {
	return q.int64Setting(ctx, settingDHTSeq)
}

// RaiseDHTSeq stores seq as the highest published sequence number unless
// a higher one is stored already: the number never goes down.
func (db *DB) RaiseDHTSeq(ctx context.Context, seq int64) error {
	return db.Update(ctx, func(tx *Tx) error {
		cur, err := tx.DHTSeq(ctx)
		if err != nil || seq <= cur {
			return err
		}
		return tx.SetSetting(ctx, settingDHTSeq, strconv.FormatInt(seq, 10))
	})
}

// DHTRoutingTable returns the saved routing table (nil: none).
func (q queries) DHTRoutingTable(ctx context.Context) ([]byte, error) {
	v, ok, err := q.Setting(ctx, settingDHTTable)
	if err != nil || !ok || v == "" {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("read setting %s: %w", settingDHTTable, err)
	}
	return b, nil
}

// SetDHTRoutingTable saves the routing table.
func (q queries) SetDHTRoutingTable(ctx context.Context, b []byte) error {
	return q.SetSetting(ctx, settingDHTTable, base64.StdEncoding.EncodeToString(b))
}

// DHTSeen returns the highest sequence number seen in a DHT item of key
// (0: none).
func (q queries) DHTSeen(ctx context.Context, key identity.PublicKey) (int64, error) {
	return q.int64Setting(ctx, dhtSeenPrefix+key.String())
}

// SetDHTSeen records the highest sequence number seen for key; 0 forgets it.
func (q queries) SetDHTSeen(ctx context.Context, key identity.PublicKey, seq int64) error {
	v := ""
	if seq > 0 {
		v = strconv.FormatInt(seq, 10)
	}
	return q.SetSetting(ctx, dhtSeenPrefix+key.String(), v)
}

func (q queries) int64Setting(ctx context.Context, key string) (int64, error) {
	v, ok, err := q.Setting(ctx, key)
	if err != nil || !ok || v == "" {
		return 0, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("read setting %s: bad number %q", key, v)
	}
	return n, nil
}
