import SSH

/// SHA-256 for the copy/template checksum compare and the `hash` filters: one implementation,
/// in the SSH module (which also needs it for host key fingerprints).
public typealias SHA256 = SSH.SHA256
