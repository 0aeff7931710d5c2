// lookup('password', 'PATH [length=N] [chars=SETS]'), as in Ansible: the first use generates a
// random password and stores it in PATH on the control machine (0600, new directories 0700);
// every later use reads it back. Secrets then live beside the state they protect instead of in
// the inventory. Differences from Ansible: PATH must be absolute (no playbook-relative paths),
// no `encrypt=` / `seed=`; `chars` takes ascii_letters, ascii_lowercase, ascii_uppercase, digits,
// hexdigits, or literal characters. The value is never part of an error message.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

enum PasswordLookup {
    /// Host workers render templates in parallel: the first writer wins, the others read it.
    private static let lock = NSLock()

    static let sets: [String: String] = [
        "ascii_letters": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "ascii_lowercase": "abcdefghijklmnopqrstuvwxyz",
        "ascii_uppercase": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "digits": "0123456789",
        "hexdigits": "0123456789abcdefABCDEF",
    ]

    static func value(_ spec: String) throws -> String {
        let words = spec.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let path = words.first else { throw ProvisionError("lookup('password'): needs a file path") }
        guard path.hasPrefix("/") else { throw ProvisionError("lookup('password', '\(path)'): the path must be absolute") }
        var length = 20
        var alphabet = ""
        for word in words.dropFirst() {
            guard let eq = word.firstIndex(of: "=") else { throw ProvisionError("lookup('password'): expected key=value, got '\(word)'") }
            let key = String(word[..<eq]), value = String(word[word.index(after: eq)...])
            switch key {
            case "length":
                guard let n = Int(value), (1...1024).contains(n) else { throw ProvisionError("lookup('password'): length must be 1…1024, got '\(value)'") }
                length = n
            case "chars":
                alphabet = value.split(separator: ",").map { sets[String($0)] ?? String($0) }.joined()
            default:
                throw ProvisionError("lookup('password'): unknown option '\(key)' (length, chars)")
            }
        }
        let characters = Array(Set(alphabet.isEmpty ? sets["ascii_letters"]! + sets["digits"]! : alphabet)).sorted()
        lock.lock()
        defer { lock.unlock() }
        if let data = FileManager.default.contents(atPath: path) {
            let stored = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard !stored.isEmpty else { throw ProvisionError("lookup('password'): \(path) is empty") }
            return stored
        }
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ProvisionError("lookup('password'): cannot create \(directory): \(error.localizedDescription)")
        }
        var generator = SystemRandomNumberGenerator()
        let password = String((0..<length).map { _ in characters.randomElement(using: &generator)! })
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw ProvisionError("lookup('password'): cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array((password + "\n").utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else {
            unlink(path)
            throw ProvisionError("lookup('password'): cannot write \(path): \(String(cString: strerror(errno)))")
        }
        return password
    }
}
