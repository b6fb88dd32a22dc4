package bot

import (
	"confchat/node"
)

// Application error codes of finding a friend by ID alone (friend.add
// without an address).
const (
	CodeNotOnDHT  = 1020 // nothing usable found on the DHT for the ID
	CodeNoAddress = 1021 // no address given and the DHT is off
)

// dhtJSON is the "dht" object of self.get.
type dhtJSON struct {
	Enabled         bool     `json:"enabled"`
	Ready           bool     `json:"ready"`
	Listen          string   `json:"listen"`
	Nodes           int      `json:"nodes"`
	GoodNodes       int      `json:"good_nodes"`
	LastPublish     string   `json:"last_publish"`
	PublishSeq      int64    `json:"publish_seq"`
	PublishError    string   `json:"publish_error"`
	Published       []string `json:"published"`
	Error           string   `json:"error"`
	PacketsSent     int64    `json:"packets_sent"`
	PacketsReceived int64    `json:"packets_received"`
}

func dhtStatusJSON(s node.DHTStatus) *dhtJSON {
	return &dhtJSON{Enabled: s.Enabled, Ready: s.Ready, Listen: s.Listen, Nodes: s.Nodes,
		GoodNodes: s.GoodNodes, LastPublish: rfc3339(s.LastPublish), PublishSeq: s.PublishSeq,
		PublishError: s.PublishErr, Published: nonNil(s.Published), Error: s.Error,
		PacketsSent: s.PacketsSent, PacketsReceived: s.PacketsRecv}
}

// dhtNotification maps the DHT's node events; "" for others.
func dhtNotification(ev node.Event) (string, any) {
	if ev, ok := ev.(node.DHTPublished); ok {
		return "dht.published", map[string]any{"addresses": nonNil(ev.Addresses), "seq": ev.Seq}
	}
	return "", nil
}
