// Package ipmsg is the IP Messenger wire format as FeiGo reads and writes it: bytes in,
// typed values out, with no sockets and no clock. Nothing here panics on input from the
// network; every parser is covered by real packets and a fuzz target.
//
// # Datagrams
//
// Every UDP datagram (port 2425) is
//
//	version:packetNo:user:host:command:additional
//
// where version starts with "1" (IPMsg sends "1", iptux "1_iptux 0.8.3", FeiQ
// "1_lbt6_0#128#<MAC>#…", FeiGo "1_feigo <version>"), packetNo is a decimal number the
// sender chooses (acknowledgements and file requests name it), and command is a decimal
// 32-bit word: a mode in the low 8 bits (BR_ENTRY, SENDMSG, RECVMSG, GETFILEDATA, …) and
// option flags above (SENDCHECKOPT asks for a RECVMSG, UTF8OPT says the strings are UTF-8,
// FILEATTACHOPT says files are attached). The additional section is split at NUL bytes into
// sections; Decode, Sections and FirstSection read them, Packet.Marshal writes them.
//
// # Dialects
//
//   - Encoding: IPMsg with UTF8OPT, iptux and FeiGo write UTF-8; FeiQ writes GBK; IPMsg
//     without UTF8OPT writes its system code page (GBK in China, CP932 in Japan). Charset
//     decodes and encodes each; a sender that says nothing is guessed (GuessCharset).
//   - Entries (BR_ENTRY, ANSENTRY, BR_ABSENCE) carry nick\0group\0 and, from IPMsg and FeiGo,
//     a UTF-8 trailer section "\nUN:user\nHN:host\nNN:nick\nGN:group". FeiGo adds its own
//     keys there (FGID, its installation ID; FGCAP, its capabilities; FGAW, the away text):
//     iptux reads that section as an icon name and IPMsg ignores unknown keys, so legacy
//     clients see exactly what they expect. iptux puts its encoding name in a 4th section and
//     sets ABSENCEOPT on every entry. ParseEntry tells the clients apart (Client) and bounds
//     every field it keeps (MaxName, MaxAwayText, MaxID, MaxCaps, …), so a peer's entry costs
//     a few KiB however large its packets are.
//   - FeiQ appends a "{…}" font block to message texts and sends control strings
//     ("/~#>…<B~") as messages; FeiQText cleans the one and hides the other.
//   - Group chats. FeiQ's rooms are multicast to 226.81.9.8:2425: announcements (0xC9)
//     and messages (0x400023) holding "QUNMSGMARK#<room>#…", Blowfish-CBC encrypted under
//     the sender's MAC, which the packet carries in clear (DecodeFeiQRoom, EncodeFeiQRoom).
//     iptux's group chat is IPTUX_SENDMSG (0xFB) to each member, the kind of group window
//     (regular, segment, group, broadcast) in the option bits and no group ID
//     (DecodeIptuxGroupMsg, IptuxGroupPacket); iptux sends it only to peers whose entry names
//     an encoding in a 4th section (Entry.IptuxGroups). Neither is private: anyone on the
//     LAN reads them.
//
// # Files
//
// An offer is a SENDMSG with FILEATTACHOPT whose second section lists the files as
// "id:name:size:mtime:attr:" entries separated by '\a' (size, mtime and attr in hex, ':' in
// names doubled; iptux rejects names with ':' so they become '_' for it): EncodeFileList and
// ParseFileList. The receiver fetches over TCP with GETFILEDATA "packetNo:fileID:offset" or,
// for a folder, GETDIRFILES "packetNo:fileID" (FileRequest), and a folder arrives as a
// stream of records, each "HHHH:name:size:attr:14=mtime:16=mtime:" (HHHH the header's own
// length in hex, DirHeader) followed by the file's bytes, with attr 3 (FileRetParent) closing
// a folder. Between FeiGo peers a request carries the extra field "fgsum1": the sender then
// follows each file with its SHA-256 and waits for the receiver's verdict.
//
// Pasted images travel as IP Messenger sends them: an entry of the offer with attr
// FileClipboard (0x20) and the extended attribute "8=pos" (FileClipboardPos, hex), pos being
// where the image sits in the text as IPMsg's rich-edit control counts (UTF-16 units, earlier
// images one each: ClipPos, ClipOffset); fetched with GETFILEDATA like any file. A client
// that shows them sets CLIPBOARDOPT (0x08000000) on its entries; ParseEntry then adds
// CapClipboard to the entry's capabilities.
//
// The byte-level reference, with captures of real clients, is the team's ipmsg-protocol.md
// (shared/docs beside the repository).
package ipmsg
