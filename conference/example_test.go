package conference_test

import (
	"fmt"
	"time"

	"confchat/conference"
	"confchat/identity"
)

func exampleKey(b byte) *identity.KeyPair {
	seed := make([]byte, identity.SeedSize)
	seed[0] = b
	kp, _ := identity.FromSeed(seed)
	return kp
}

type wirePacket struct {
	from identity.PublicKey
	conference.Outgoing
}

// Example wires two engines by hand the way the node does: persist rows,
// deliver packets, honour session wishes, show events.
func Example() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	alice, bob := exampleKey(1), exampleKey(2)
	a, _ := conference.Create(conference.Config{Self: alice, GroupNumber: 0, Name: "alice"}, now)
	a.SessionUp(now, bob.Public()) // friends: their session is up
	_ = a.Invite(now, bob.Public())

	engines := map[identity.PublicKey]*conference.Engine{alice.Public(): a}
	var queue []wirePacket
	drain := func(self identity.PublicKey) {
		e := engines[self]
		r := e.Ready()
		defer e.Advance() // 5. acknowledge the batch
		// 1. persist r.Rows; 2. send r.Packets; 3. apply r.Sessions; 4. show r.Events
		for _, p := range r.Packets {
			queue = append(queue, wirePacket{self, p})
		}
		for _, ev := range r.Events {
			switch ev := ev.(type) {
			case conference.MessageReceived:
				fmt.Printf("%s sees %q (own=%v)\n", e.Name(self), ev.Text, ev.Own)
			case conference.Connected:
				fmt.Println("bob joined")
			}
		}
	}
	deliverAll := func() {
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			to := engines[p.To]
			if to == nil { // no engine yet: the node turns the invite into an event
				inv, err := conference.InvitedFrom(p.from, p.Data)
				if err != nil {
					continue
				}
				b, _ := conference.Join(conference.Config{Self: bob, GroupNumber: 7, Name: "bob"}, now, inv.From, inv.Cookie)
				engines[p.To] = b
				drain(p.To)
				continue
			}
			_ = to.HandlePacket(now, p.from, p.Data)
			drain(p.To)
		}
	}
	drain(alice.Public())
	deliverAll()
	b := engines[bob.Public()]
	_ = b.SendMessage(now, "hi alice")
	drain(bob.Public())
	deliverAll()
	fmt.Println("alice sees", a.ActiveCount(), "members; bob sees", b.ActiveCount())
	// Output:
	// bob joined
	// bob sees "hi alice" (own=true)
	// alice sees "hi alice" (own=false)
	// alice sees 2 members; bob sees 2
}
