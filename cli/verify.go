package cli

import (
	"fmt"

	"feigo/control"
)

func runVerify(env Env, args []string) int {
	fs, prof := newFlags(env, "verify", "PEER [--confirm]", "Show the safety code you share with a FeiGo colleague. Read it aloud with them (in\n"+
		"person or on the phone): their `feigo verify` or window shows the same code only if no one\n"+
		"stands between you. If it matches, run again with --confirm: the colleague is then shown as\n"+
		"verified, and a later change of their key as a warning.")
	confirm := fs.Bool("confirm", false, "the codes matched: mark the colleague's key verified")
	key := fs.String("key", "", "with --confirm: the colleague's key `FINGERPRINT` as shown with the code; another key is refused")
	pos, code, done := interspersed(env, fs, args)
	if done {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(env.Stderr, "feigo verify: need one PEER")
		return 2
	}
	resp, ok := call(env, "verify", *prof, control.Request{Cmd: "verify", To: pos, Confirm: *confirm, Fingerprint: *key})
	if !ok {
		return 1
	}
	v := resp.Verification
	if v == nil {
		fmt.Fprintln(env.Stderr, "feigo verify: the node gave no answer")
		return 1
	}
	nick := printable(v.Nick)
	if v.KeyChangedFrom != "" {
		fmt.Fprintf(env.Stdout, "WARNING: %s's key is not the one pinned for them before (%s).\n", nick, v.KeyChangedFrom)
	}
	fmt.Fprintf(env.Stdout, "Your key:      %s\n%s's key: %s\nSafety code:   %s\n", v.MyFingerprint, nick, v.Fingerprint, v.SafetyCode)
	switch {
	case *confirm:
		fmt.Fprintf(env.Stdout, "%s is verified.\n", nick)
	case v.Verified:
		fmt.Fprintf(env.Stdout, "%s is verified.\n", nick)
	default:
		fmt.Fprintf(env.Stdout, "Compare the safety code with %s; if it matches: feigo verify --confirm --key %s %s\n", nick, v.Fingerprint, printable(pos[0]))
	}
	return 0
}
