package simnet

import (
	"time"

	"confchat/identity"
)

type delivery struct {
	at       time.Time
	seq      uint64
	from, to identity.PublicKey
	data     []byte
	epoch    int
	hop      int
}

// packetQueue is a min-heap on (at, seq).
type packetQueue []*delivery

func (q packetQueue) Len() int { return len(q) }
func (q packetQueue) Less(i, j int) bool {
	if !q[i].at.Equal(q[j].at) {
		return q[i].at.Before(q[j].at)
	}
	return q[i].seq < q[j].seq
}
func (q packetQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *packetQueue) Push(x any)   { *q = append(*q, x.(*delivery)) }
func (q *packetQueue) Pop() any {
	old := *q
	d := old[len(old)-1]
	*q = old[:len(old)-1]
	return d
}
