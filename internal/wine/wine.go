// Package wine tells tests which failures are Wine's, not FeiGo's. The packages' tests are
// compiled for Windows and run under Wine 8 (make test-windows); Wine 8 lacks two things
// Windows 10 has, and a test that needs one of them skips there, saying which, instead of
// failing. On Windows itself and on every other system nothing is skipped.
//
//   - UDP sockets: Go sets SIO_UDP_NETRESET on every UDP socket it opens, and Wine 8's
//     WSAIoctl refuses it (WSAEOPNOTSUPP), so no UDP socket can be opened.
//   - AF_UNIX sockets (FeiGo's control socket): Wine 8's socket() refuses the family
//     (WSAEAFNOSUPPORT).
package wine

import "testing"

// SkipUnsupported skips t when this is Wine and err is one of its two refusals above.
func SkipUnsupported(t testing.TB, err error) {
	t.Helper()
	if what := refusal(err); what != "" && Running() {
		t.Skipf("Wine 8 cannot open %s (%v): this test runs on Windows and Linux, not under Wine", what, err)
	}
}
