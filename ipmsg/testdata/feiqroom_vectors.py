# Independent FeiQ room vectors: Python's cryptography Blowfish (not Go's), CBC, IV 0, PKCS#7.
from cryptography.hazmat.decrepit.ciphers.algorithms import Blowfish
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives import padding
def enc(key, pt):
    p = padding.PKCS7(64).padder(); pt = p.update(pt) + p.finalize()
    e = Cipher(Blowfish(key), modes.CBC(b"\0"*8)).encryptor()
    return e.update(pt) + e.finalize()
mac = b"00E04C6812AB"
font = "{/font;-14 0 0 0 700 0 0 0 134 0 0 2 32 黑体 255;}"
# 1. a message as FeiQ writes it
pt = ("QUNMSGMARK#3b199b07_24901708#大家好，开会了" + font).encode("gbk")
ct = enc(mac, pt)
pkt = b"1_lbt4_0#128#" + mac + b"#0#0#" + str(len(ct)).encode() + b"#4000#9:1700000001:" + "张三".encode("gbk") + b":PC-ZHANG:4194339:" + ct
print("msg", pkt.hex())
# 2. an announcement as ifreechat writes it (no length suffix fields, NUL after the cipher)
pt = "QUNMSGMARK#3b199b07#项目组".encode("gbk")
ct = enc(mac, pt)
pkt = b"1_lbt4_3#128#" + mac + b"#0#0#" + str(len(ct)).encode() + b":1700000002:zhang:PC-ZHANG:" + str(0x2000c9).encode() + b":" + ct + b"\0"
print("join", pkt.hex())
# 3. what FeiGo must send for room 0x2a, stamp 1700000000, text "你好 FeiQ" with its font
feigofont = "{/font;-12 0 0 0 400 0 0 0 134 0 0 0 0 宋体 0;}"
pt = ("QUNMSGMARK#2a_1700000000#你好 FeiQ" + feigofont).encode("gbk")
print("feigo", enc(b"0242AC1F0002", pt).hex())
pt = "QUNMSGMARK#2a#测试群".encode("gbk")
print("feigojoin", enc(b"0242AC1F0002", pt).hex())
