import SSH

/// SHA-1 for the checksums Ansible reports (`copy`'s and `stat`'s `checksum`, the `checksum` and
/// `hash('sha1')` filters): beside SHA-256 in the SSH module, sharing its padding.
typealias SHA1 = SSH.SHA1
