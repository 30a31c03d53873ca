package ui

// The Chinese of the rooms' texts (rooms.go), kept apart from i18n.go's table so that the
// two grow without stepping on each other; init adds them to it.
var zhRooms = map[string]string{
	" and %d more":                                    " 等 %d 人",
	"%d members":                                      "%d 人",
	"%s added %s":                                     "%s 邀请了 %s",
	"%s added you to the room %s":                     "%s 邀请你加入群 %s",
	"%s created the room “%s” with %s":                "%s 创建了群“%s”，成员：%s",
	"%s left the room":                                "%s 退出了群",
	"%s removed %s":                                   "%s 将 %s 移出了群",
	"%s renamed the room “%s”":                        "%s 将群名改为“%s”",
	"(not kept: older than the history's retention)":  "（未保留：超过聊天记录的保留期限）",
	"A room needs a name and at least one colleague.": "群需要一个名称和至少一位同事。",
	"Add a whole group…":                              "添加整个部门…",
	"Add members…":                                    "添加成员…",
	"Add to %s":                                       "添加成员到 %s",
	"Add":                                             "添加",
	"Create":                                          "创建",
	"Encrypted: only the members can read this room.":                 "已加密：只有群成员能看到本群消息。",
	"Leave %s? You receive nothing written after; its history stays.": "退出 %s？之后的消息你将收不到；聊天记录保留。",
	"Leave room":                "退出群",
	"Members (%d)":              "成员（%d）",
	"Members:":                  "成员：",
	"New message in %s from %s": "%s 中 %s 的新消息",
	"New room":                  "新建群",
	"New room…":                 "新建群…",
	"No colleague online can join: rooms are for FeiGo colleagues with a key.": "没有可加入的在线同事：群聊仅限有密钥的 FeiGo 同事。",
	"Remove %s from %s? They receive nothing written after.":                   "将 %s 移出 %s？之后的消息对方将收不到。",
	"Remove":                       "移出",
	"Rename the room":              "修改群名",
	"Rename":                       "改名",
	"Rename…":                      "改名…",
	"Room name":                    "群名称",
	"Rooms (%d)":                   "群（%d）",
	"This room is no longer kept.": "本群已不再保留。",
	"You are no longer a member of this room: it is kept as history.": "你已不是本群成员：群消息作为聊天记录保留。",
	"creator":                        "群主",
	"left":                           "已退出",
	"me":                             "我",
	"offline":                        "离线",
	"received by %s; waiting for %s": "%s 已收到；等待 %s",
	"received by all %d":             "%d 人全部收到",
	"room %s":                        "群 %s",
	"waiting for %s":                 "等待 %s",
	"%s is a %s room: it is not encrypted, and anyone on the network can read it, as in %s. Join it?": "%s 是 %s 群：未加密，网络上的任何人都能看到（%s 本来如此）。要加入吗？",
	"FeiQ room %s": "飞秋群 %s",
	"Files cannot be offered to a %s group chat; send them to a colleague.": "不能向 %s 群发送文件；请发给同事本人。",
	"Join %s": "加入 %s",
	"Leave %s? Its messages no longer reach you; its history stays.": "退出 %s？之后的消息你将收不到；聊天记录保留。",
	"Members heard from (%d)": "发过言的成员（%d）",
	"Not encrypted: this is a %s group chat; anyone on the network can read it, as in %s.": "未加密：这是 %s 群聊，网络上的任何人都能看到（%s 本来如此）。",
	"not joined":              "未加入",
	"sent (not acknowledged)": "已发出（对方不回执）",
}

func init() {
	for k, v := range zhRooms {
		if _, dup := zh[k]; !dup {
			zh[k] = v
		}
	}
}
