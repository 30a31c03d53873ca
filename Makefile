# FeiGo: `make run` starts FeiGo, `make test` runs every check. Both install what a fresh
# Debian/Ubuntu machine lacks (Go itself excepted).

GO      ?= go
BIN     ?= feigo
# System packages: iproute2 and nftables build the LAN lab the network tests run in (tc,
# from iproute2, shapes its links); the benchmarks also compare against iperf3.
# The desktop app (Fyne) needs a C compiler and the GL/X11/Wayland headers; its smoke test runs
# the window under Xvfb. Its closing and tray tests add a window manager (evilwm, whose
# Ctrl+Alt+Escape closes a window as its ✕ does), xprop (x11-utils) to see it up, and a private
# D-Bus session bus (dbus-daemon).
APT_PKGS := iproute2 nftables ca-certificates \
	gcc libc6-dev pkg-config libgl-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev \
	libxi-dev libxxf86vm-dev libwayland-dev libxkbcommon-dev libegl-dev xvfb x11-apps \
	fonts-wqy-microhei fonts-noto-cjk iptux xdotool tcpdump evilwm x11-utils dbus-daemon
BENCH_PKGS := iperf3
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build run serve package test vet fmt-check bench fuzz clean

all: build

deps:
	@missing=""; for p in $(APT_PKGS) $(EXTRA_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@$(GO) version >/dev/null || { echo "Go is needed: https://go.dev/doc/install"; exit 1; }
	$(GO) mod download

build:
	$(GO) build -trimpath -o $(BIN) .

# Opens the FeiGo window with the default profile (~/.config/feigo); ARGS go to feigo.
run: deps build
	./$(BIN) $(ARGS)

# Runs a FeiGo node without a window (the CLI talks to it).
serve: deps build
	./$(BIN) serve $(ARGS)

# A Linux package (tar.xz with the binary, a .desktop entry, the icon and an install
# Makefile), built in a copy because `fyne package` rewrites FyneApp.toml.
package: deps
	rm -rf .package && mkdir .package && git ls-files | tar -cf - -T - | tar -xf - -C .package
	cd .package && $(GO) build -trimpath -ldflags "-s -w" -o feigo . && \
		$(GO) tool fyne package -os linux --exe feigo
	mv .package/FeiGo.tar.xz . && rm -rf .package
	@echo "FeiGo.tar.xz: tar -xf FeiGo.tar.xz && sudo make -C feigo install (or make -C feigo user-install)"

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# The lab tests need root (network namespaces); as another user they skip and say why.
test: deps fmt-check vet
	$(GO) test -race -count=1 -timeout 20m ./...

bench:
	$(MAKE) deps EXTRA_PKGS="$(BENCH_PKGS)"
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 90m ./e2e
	$(GO) test -run '^$$' -bench Insert -benchtime 2s ./history
	$(GO) test -run '^$$' -bench 'Search1M|ConversationPage' -benchtime 20x -timeout 30m ./history
	$(GO) test -run '^$$' -bench PeerEvents -benchtime 3x ./ui
	$(GO) test -run '^$$' -bench OpenConversation -benchtime 200x ./ui

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 60s ./ipmsg
	$(GO) test -run '^$$' -fuzz FuzzParseDirHeader -fuzztime 60s ./ipmsg

clean:
	rm -rf $(BIN) .package FeiGo.tar.xz
