package control

import (
	"context"
	"fmt"
	"path/filepath"

	"feigo/room"
	"feigo/xfer"
)

// Roomer is a node with group rooms (`feigo room …`). Members and rooms are named as a user
// types them: a colleague as for other commands (or a key's fingerprint), a room by its name
// or ID.
type Roomer interface {
	RoomCreate(ctx context.Context, name string, members []string) (room.Sent, error)
	RoomList() ([]room.Info, error)
	RoomAdd(ctx context.Context, room string, members []string) (room.Sent, error)
	RoomRemove(ctx context.Context, room, member string) (room.Sent, error)
	RoomLeave(ctx context.Context, room string) (room.Sent, error)
	RoomRename(ctx context.Context, room, name string) (room.Sent, error)
	RoomSend(ctx context.Context, room, text string) (room.Sent, error)
	RoomSendFiles(ctx context.Context, room, text string, paths []string) (room.Sent, xfer.Transfer, error)
	RoomHistory(room string, limit int) (room.Info, []room.Line, error)
	RoomInfo(room string) (room.Info, error)
}

// RoomAnswer is the part of a Response that answers a room request.
type RoomAnswer struct {
	Rooms []room.Info `json:"rooms,omitempty"`
	Sent  *room.Sent  `json:"sent,omitempty"`
	Room  *room.Info  `json:"room,omitempty"`
	Lines []room.Line `json:"lines,omitempty"`
}

// roomCmd answers Cmd "room": Op is create (Text: the name, To: the members), list, members
// (Room), add
// (Room, To), remove (Room, To[0]), leave (Room), rename (Room, Text), send (Room, Text),
// send-file (Room, Paths, Text) or history (Room, Limit).
func roomCmd(ctx context.Context, node Node, req Request) Response {
	r, ok := node.(Roomer)
	if !ok {
		return Response{Error: "this node has no rooms"}
	}
	sent := func(s room.Sent, err error) Response {
		if err != nil {
			return Response{Error: err.Error()}
		}
		return Response{OK: true, RoomAnswer: &RoomAnswer{Sent: &s}}
	}
	switch req.Op {
	case "create":
		return sent(r.RoomCreate(ctx, req.Text, req.To))
	case "list":
		rs, err := r.RoomList()
		if err != nil {
			return Response{Error: err.Error()}
		}
		if rs == nil {
			rs = []room.Info{}
		}
		return Response{OK: true, RoomAnswer: &RoomAnswer{Rooms: rs}}
	case "add":
		return sent(r.RoomAdd(ctx, req.Room, req.To))
	case "remove":
		if len(req.To) != 1 {
			return Response{Error: "name one member to remove"}
		}
		return sent(r.RoomRemove(ctx, req.Room, req.To[0]))
	case "leave":
		return sent(r.RoomLeave(ctx, req.Room))
	case "rename":
		return sent(r.RoomRename(ctx, req.Room, req.Text))
	case "send":
		return sent(r.RoomSend(ctx, req.Room, req.Text))
	case "send-file":
		for _, p := range req.Paths {
			if !filepath.IsAbs(p) {
				return Response{Error: fmt.Sprintf("path %q is not absolute", p)}
			}
		}
		s, t, err := r.RoomSendFiles(ctx, req.Room, req.Text, req.Paths)
		if err != nil {
			return Response{Error: err.Error()}
		}
		resp := Response{OK: true, RoomAnswer: &RoomAnswer{Sent: &s}}
		if t.ID != 0 {
			resp.Transfer = &t
		}
		return resp
	case "members":
		in, err := r.RoomInfo(req.Room)
		if err != nil {
			return Response{Error: err.Error()}
		}
		return Response{OK: true, RoomAnswer: &RoomAnswer{Room: &in}}
	case "history":
		in, lines, err := r.RoomHistory(req.Room, req.Limit)
		if err != nil {
			return Response{Error: err.Error()}
		}
		if lines == nil {
			lines = []room.Line{}
		}
		return Response{OK: true, RoomAnswer: &RoomAnswer{Room: &in, Lines: lines}}
	}
	return Response{Error: fmt.Sprintf("unknown room command %q", req.Op)}
}
