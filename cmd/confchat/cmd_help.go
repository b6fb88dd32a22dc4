package main

import (
	"context"
)

func helpCommand() *command {
	return &command{
		name:    "help",
		args:    "[command]",
		summary: "show help for confchat or one command",
		run: func(_ context.Context, e env, args []string) error {
			switch len(args) {
			case 0:
				printHelp(e.stdout)
			case 1:
				c := findCommand(args[0])
				if c == nil {
					return usagef("unknown command %q", args[0])
				}
				printCommandHelp(e.stdout, c)
			default:
				return usagef("help takes at most one command")
			}
			return nil
		},
	}
}
