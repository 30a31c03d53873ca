package ui

import (
	"fmt"
	"os"
	"strings"
)

// Lang is a user interface language.
type Lang string

// The languages FeiGo speaks.
const (
	English Lang = "en"
	Chinese Lang = "zh"
)

// SystemLang picks Chinese when the system's locale is Chinese, else English.
func SystemLang() Lang {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"} {
		if s := os.Getenv(v); s != "" {
			if strings.HasPrefix(strings.ToLower(s), "zh") {
				return Chinese
			}
			return English
		}
	}
	return English
}

// ParseLang reads "en", "zh", "zh_CN.UTF-8" and the like; "" or "system" is SystemLang.
func ParseLang(s string) Lang {
	s = strings.ToLower(s)
	switch {
	case s == "" || s == "system":
		return SystemLang()
	case strings.HasPrefix(s, "zh"):
		return Chinese
	}
	return English
}

var zh = map[string]string{
	"Online":                              "在线",
	"Away":                                "离开",
	"Search colleagues":                   "搜索同事",
	"Refresh":                             "刷新",
	"Message to many":                     "群发消息",
	"Settings":                            "设置",
	"Transfers":                           "文件传输",
	"Send":                                "发送",
	"Send file…":                          "发送文件…",
	"Send folder…":                        "发送文件夹…",
	"sending":                             "发送中",
	"delivered":                           "已送达",
	"failed":                              "发送失败",
	"Retry":                               "重试",
	"Accept":                              "接收",
	"Save as…":                            "另存为…",
	"Decline":                             "拒绝",
	"Cancel":                              "取消",
	"Open folder":                         "打开文件夹",
	"Open file":                           "打开文件",
	"Save as":                             "另存为",
	"Send files":                          "发送文件",
	"Send folder":                         "发送文件夹",
	"Nothing could open %s: %v":           "没有程序能打开 %s：%v",
	"offers you %d file(s), %s":           "向你发送 %d 个文件，%s",
	"You offered %d file(s), %s":          "你发送了 %d 个文件，%s",
	"Nickname":                            "昵称",
	"Group":                               "部门",
	"Download folder":                     "下载文件夹",
	"Enter sends (Shift+Enter: new line)": "Enter 发送（Shift+Enter 换行）",
	"Ctrl+Enter sends (as in FeiQ)":       "Ctrl+Enter 发送（同飞秋）",
	"Language":                            "语言",
	"Network interfaces (comma-separated, empty: all)":    "网卡（逗号分隔，留空为全部）",
	"Extra broadcast addresses / hosts (comma-separated)": "其他广播地址或主机（逗号分隔）",
	"Port": "端口",
	"Auto-accept files from these verified colleagues (IDs from feigo peers, comma-separated)": "自动接收以下已验证同事的文件（ID 见 feigo peers，逗号分隔）",
	"Closing the window quits FeiGo (instead of keeping it in the tray)":                       "关闭窗口即退出 FeiGo（不保留在托盘）",
	"Start minimised":           "启动时最小化",
	"Start FeiGo when I log in": "登录时启动 FeiGo",
	"No colleagues yet.":        "还没有同事。",
	noPeersHelp:                 "FeiGo 会找到本网络中运行 FeiGo、飞秋、IP Messenger 或 iptux 的同事。如果有人不在列表中：请确认你们在同一网络，双方都没有防火墙阻挡 UDP 和 TCP 端口 2425；若对方在另一个子网，请在“设置”中添加该子网的广播地址或对方的地址。在终端中，`feigo doctor` 会说明 FeiGo 看到的网络情况，`feigo doctor 地址` 会说明某位同事为何没有应答。",
	"Colours":                   "外观",
	"Colleagues":                "同事",
	"As the desktop (light if it does not say)": "跟随桌面（桌面未设置时为浅色）",
	"Light":                    "浅色",
	"Dark":                     "深色",
	"Save":                     "保存",
	"Away message":             "离开时的自动回复",
	"I am away from my desk.":  "我现在不在座位上。",
	"Show":                     "显示",
	"Hide":                     "隐藏",
	"Quit":                     "退出",
	"New message from %s":      "%s 发来新消息",
	"%s offers files":          "%s 发来文件",
	"Message to %d colleagues": "群发给 %d 位同事",
	"Choose colleagues first (tick them or a group).": "请先勾选同事或部门。",
	"Tick colleagues or a whole group.":               "请勾选同事或整个部门。",
	"%d ticked":                                       "已选 %d 人",
	"Write…":                                          "写消息…",
	"My picture":                                      "我的头像",
	"Choose…":                                         "选择…",
	"Remove":                                          "移除",
	"Sent to iptux and FeiGo colleagues (a PNG, JPEG or GIF image).": "发送给 iptux 和 FeiGo 同事（PNG、JPEG 或 GIF 图片）。",
	"done":                    "完成",
	"declined":                "已拒绝",
	"cancelled":               "已取消",
	"cancelled by the sender": "发送方已取消",
	"the offer expired before it was accepted": "邀请已过期，未被接收",
	"the offer expired before it was fetched":  "邀请已过期，对方未接收",
	"offered":                         "等待接收",
	"active":                          "传输中",
	"%s/s, %s left":                   "%s/s，剩余 %s",
	"not in the list":                 "不在列表中",
	"Me":                              "我",
	"unread":                          "未读",
	"queued":                          "待发送",
	"received":                        "已接收",
	"History":                         "聊天记录",
	"Earlier messages":                "更早的消息",
	"Clear history":                   "清空聊天记录",
	"Screenshot":                      "截图",
	"Today":                           "今天",
	"Yesterday":                       "昨天",
	"Network doctor":                  "网络诊断",
	"Looking at the network…":         "正在检查网络……",
	"Colleague or address (10.0.5.7)": "同事或地址（如 10.0.5.7）",
	"Check":                           "检查",
	"Greeting %s…":                    "正在问候 %s……",
	"Close":                           "关闭",
	"Tell colleagues when I have read their messages":                                    "告诉同事我已读过他们的消息（已读回执）",
	"Hide FeiGo while taking a screenshot":                                               "截图时隐藏 FeiGo 窗口",
	"Ctrl+Alt+A takes a screenshot anywhere on the desktop":                              "在整个桌面上用 Ctrl+Alt+A 截图",
	"Trade colleague lists with FeiGo colleagues on other subnets":                       "与其他网段的 FeiGo 同事交换同事列表",
	"Give IP Messenger users my list of colleagues":                                      "向 IP Messenger 用户提供我的同事列表",
	"Also use virtual interfaces (containers, VPN tunnels)":                              "也使用虚拟网卡（容器、VPN 隧道）",
	"Network changes and the screenshot key apply on the next start.":                    "网络设置和截图快捷键在下次启动时生效。",
	"Open a colleague's conversation, then press Ctrl+Alt+A to send a screenshot in it.": "请先打开与同事的对话，再按 Ctrl+Alt+A 截图发送。",
	"Drag to choose a region · Enter: the whole screen · Esc: cancel":                    "拖动鼠标选择区域 · 回车：整个屏幕 · Esc：取消",
	"Verify…":                        "验证…",
	"Verify %s":                      "验证 %s",
	"WARNING: not who they may seem": "警告：可能是冒充者",
	"verified":                       "已验证",
	"encrypted":                      "已加密",
	"not encrypted":                  "未加密",
	"Warning: %s %s.":                "警告：%s %s。",
	"Not encrypted: %s's program (%s) cannot encrypt; anyone on the network can read this conversation.":                     "未加密：%s 的软件（%s）不支持加密，网络上的任何人都能看到这段对话。",
	"Read this code aloud with %s, in person or on the phone. It matches on both screens only if no one stands between you.": "请与 %s 当面或通过电话核对这串安全码。只有在没有人从中冒充的情况下，双方屏幕上的安全码才会一致。",
	"%s's key is not the one known before.": "%s 的密钥与之前记录的不同。",
	"Send when back":                        "对方上线后发送",
	"Files:":                                "文件：",
	"Saved in %s":                           "已保存到 %s",
	"Search":                                "搜索",
	"Searching…":                            "正在搜索…",
	"%d found":                              "找到 %d 条",
	"Keep history":                          "保留聊天记录",
	"Forever":                               "永久",
	"%d days":                               "%d 天",
	"The newest %d matches; add words to narrow it.":                            "最近的 %d 条结果；可再加关键词缩小范围。",
	"Search all conversations (words, Chinese too, file names)":                 "搜索全部聊天记录（关键词、中文、文件名）",
	"This colleague's address is unknown.":                                      "不知道这位同事的地址。",
	"%s is offline: messages wait and go when they are back.":                   "%s 不在线：消息会保留，对方上线后自动发送。",
	"Delete the whole history with %s? Messages still waiting to be sent stay.": "删除与 %s 的全部聊天记录？尚未发出的消息会保留。",
}

// T translates a message to lang, formatting it with args like fmt.Sprintf.
func T(lang Lang, msg string, args ...any) string {
	if lang == Chinese {
		if z, ok := zh[msg]; ok {
			msg = z
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(msg, args...)
	}
	return msg
}
