// Package filecopy copies files and trees to and from many nodes at once:
// drove copy, the job of pdcp, rpdcp, clush --copy/--rcopy, pscp and pslurp.
//
// Push copies local sources to a destination on every node; Pull gathers a
// path from every node into DEST/NODE/ on this machine. A remote node is
// reached over one SSH connection (dialled by the caller's function, so
// ssh_config, known_hosts and the agent are honoured as for jobs) that
// carries one SFTP session for all of that node's files (or over a stream
// the caller opens, Node.Open: SFTP relayed by a drove gateway); a local node (this
// machine) is copied with the file system calls directly, by the same rules.
// At most Options.Fanout nodes are copied at once.
//
// The rules, the same on every node and in both directions:
//   - A regular file is written under a temporary name (.drove-tmp-XXXX) in
//     its target directory, given its mode and mtime, and renamed over the
//     real name: the real name never holds a partial file. A copy that dies
//     half-way can leave the temporary file, never a partial real one.
//   - Directories are created as needed and merged into when they exist;
//     their mode and mtime are set after their contents are written.
//   - Symbolic links are copied as links (their target text is data, never
//     followed while copying); other file types (devices, fifos, sockets) are
//     not copied and each is reported.
//   - Modes (permission bits, and setuid, setgid and sticky when pushing)
//     and modification times are kept; the access time is set to the
//     modification time. Ownership is the login user's. A symbolic link's
//     own mtime is not kept.
//   - Names are data: they travel as SFTP strings or system-call arguments,
//     never through a shell, so spaces, newlines, quotes, leading dashes and
//     bytes that are not UTF-8 are copied as they are.
//   - Pulling, nothing a node sends can write outside DEST/NODE/: every name
//     it lists must be a single path element (not empty, ".", ".." nor
//     containing "/" or NUL), every write goes through an os.Root opened on
//     DEST/NODE (which refuses paths and symbolic links that lead out of
//     it), and setuid and setgid bits are dropped.
//
// Every failure is reported per node with the path it concerns (an *Error);
// a node that cannot be reached, or whose connection dies, is reported and
// the other nodes go on. A node whose stream breaks because the way to it
// was lost (Node.Redo says so) has its copy done again, whole, over a new
// stream (redo.go).
package filecopy
