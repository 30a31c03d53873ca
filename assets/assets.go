// Package assets holds FeiGo's embedded images: the app icon for the window, the tray and
// the desktop entry (FyneApp.toml points at the same file).
package assets

import _ "embed"

// Icon is FeiGo's application icon, a 512×512 PNG.
//
//go:embed icon.png
var Icon []byte
