// Package testbus writes the configuration of a D-Bus session bus of a test's own.
package testbus

// Config is a session bus listening at listen (a D-Bus address such as unix:path=…) with no
// service directories, so that nothing installed on the machine (a desktop portal, a
// notification daemon) is started on demand where a test says there is none, and a policy
// that lets the test own any name and watch every message.
func Config(listen string) []byte {
	return []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>` + listen + `</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`)
}
