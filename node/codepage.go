package node

import "feigo/ipmsg"

// defaultLegacy is the code page assumed for clients that do not say theirs, when the
// settings name none: the system's own where it is Japanese (Windows' ANSI code page 932, as
// Japanese IP Messenger uses), else GBK, which FeiQ and Chinese IP Messenger use (a Chinese
// Windows' code page 936, and the default everywhere else). acp is the system's ANSI code
// page, 0 where the system has none (Unix).
func defaultLegacy(acp func() uint32) ipmsg.Charset {
	switch acp() {
	case 932:
		return ipmsg.CP932
	default: // 936 (GBK) and every other
		return ipmsg.GBK
	}
}
