package ui

// The Chinese of rich.go's texts, kept apart from i18n.go's table (another conversation's
// features add to that one).
var richZh = map[string]string{
	"Sealed message: click to open":                       "密封消息：点击打开",
	"this version cannot keep a sealed message for later": "此版本无法保留密封消息稍后发送",
	"read":                          "已读",
	"sealed":                        "密封",
	"Nudge":                         "窗口抖动",
	"Seal":                          "密封",
	"%s is typing…":                 "%s 正在输入…",
	"%s nudged you!":                "%s 向你发送了窗口抖动！",
	"[image %d]":                    "[图片%d]",
	"Save image in":                 "图片保存到",
	"Image":                         "图片",
	"This image is no longer kept.": "这张图片已不再保存。",
}

func init() {
	for k, v := range richZh {
		if _, ok := zh[k]; !ok {
			zh[k] = v
		}
	}
}
