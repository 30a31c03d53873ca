package cli

import (
	"fmt"
	"strings"
)

// Global takes the flags that may come before the command (`feigo --profile DIR peers`,
// `feigo --profile DIR` for the window) off args: it returns the profile directory named
// ("" if none) and the rest, starting at the command.
func Global(args []string) (prof string, rest []string, err error) {
	for len(args) > 0 {
		a := args[0]
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" || name != "profile" {
			break
		}
		if !hasValue {
			if len(args) < 2 || args[1] == "" {
				return "", nil, fmt.Errorf("flag needs an argument: %s DIR", a)
			}
			value, args = args[1], args[1:]
		}
		if value == "" {
			return "", nil, fmt.Errorf("flag needs an argument: %s", a)
		}
		prof, args = value, args[1:]
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	return prof, args, nil
}
