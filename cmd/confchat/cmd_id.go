package main

import (
	"context"
	"crypto/rand"
	"fmt"

	"confchat/storage"
)

func idCommand() *command {
	return &command{
		name:    "id",
		args:    "[flags]",
		summary: "print this profile's confchat ID, public key and profile path",
		long: `Creates the profile on first use. Give the ID to someone who wants to
add you as a friend; it carries a nospam value that a friend request must match.`,
		run: runID,
	}
}

func runID(ctx context.Context, e env, args []string) error {
	if len(args) > 0 {
		return usagef("id takes no arguments, got %q", args[0])
	}
	db, err := storage.Open(ctx, e.global.profile)
	if err != nil {
		return err
	}
	defer db.Close()
	kp, id, err := db.LoadIdentity(ctx, rand.Reader)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "ID:          %s\nPublic key:  %s\nProfile:     %s\n", id, kp.Public(), db.Dir())
	return nil
}
