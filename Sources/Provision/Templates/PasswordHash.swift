import Crypto
import Foundation

/// `password_hash`: SHA-crypt (`$5$` / `$6$`) as glibc's crypt(3) computes it (Ulrich Drepper's
/// "Unix crypt using SHA-256 and SHA-512"). Without `rounds`, crypt(3)'s 5000, so `'secret' |
/// password_hash('sha512', 'mysalt')` is `openssl passwd -6 -salt mysalt secret` (Ansible through
/// Python's crypt); ansible-core 2.19 through passlib writes passlib's default instead
/// (`$6$rounds=656000$…`). With `rounds` given, the same string as either.
enum PasswordHash {
    /// crypt(3)'s default and the count below which no `rounds=` appears in the result.
    static let defaultRounds = 5000
    static let alphabet = Array("./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// The filter: `hashtype` as Ansible names it (`sha512` default, `sha256`, or passlib's
    /// `sha512_crypt` / `sha256_crypt`), `salt` (random, `saltSize` or 16 characters, when nil, as Ansible does),
    /// `rounds` (nil: 5000, written nowhere).
    static func hash(_ password: String, hashtype: String, salt: String?, saltSize: Int? = nil, rounds: Int?, ident: String? = nil) throws -> String {
        if hashtype == "bcrypt" { return try bcrypt(password, salt: salt, rounds: rounds, ident: ident) }
        let sha512: Bool, md5 = hashtype == "md5" || hashtype == "md5_crypt"
        switch hashtype {
        case "sha512", "sha512_crypt": sha512 = true
        case "sha256", "sha256_crypt", "md5", "md5_crypt": sha512 = false
        default:
            throw ProvisionError("password_hash: hashtype '\(hashtype)' is not supported (sha512, sha256, md5, bcrypt)")
        }
        let most = md5 ? 8 : 16
        let saltText = salt ?? String(decoding: (0..<min(most, max(1, saltSize ?? most))).map { _ in alphabet.randomElement()! }, as: UTF8.self)
        guard !saltText.isEmpty, saltText.utf8.allSatisfy({ alphabet.contains($0) }) else {
            throw ProvisionError("password_hash: the salt '\(saltText)' must be characters of [./0-9A-Za-z]")
        }
        if md5 {
            if rounds != nil { throw ProvisionError("password_hash: md5 has no rounds (its 1000 are fixed)") }
            return md5Crypt(Array(password.utf8), salt: Array(saltText.utf8.prefix(8)))
        }
        if let rounds, rounds < 1000 || rounds > 999_999_999 {
            throw ProvisionError("password_hash: rounds \(rounds) is outside 1000–999999999")
        }
        return shaCrypt(Array(password.utf8), salt: Array(saltText.utf8.prefix(16)), rounds: rounds, sha512: sha512)
    }

    /// bcrypt as passlib takes it: `salt` 22 characters of bcrypt's alphabet (random when nil,
    /// its last character one whose unused bits are zero), `rounds` the cost (4–31, passlib's 12
    /// when nil), `ident` 2b (default), 2a or 2y.
    static func bcrypt(_ password: String, salt: String?, rounds: Int?, ident: String?) throws -> String {
        let ident = ident ?? "2b"
        guard ["2a", "2b", "2y"].contains(ident) else { throw ProvisionError("password_hash: bcrypt ident '\(ident)' is not one of 2a, 2b, 2y") }
        let cost = rounds ?? 12
        guard (4...31).contains(cost) else { throw ProvisionError("password_hash: bcrypt rounds (cost) \(cost) is outside 4–31") }
        let saltText = salt ?? String(decoding: (0..<21).map { _ in BCrypt.alphabet.randomElement()! } + [Array(".Oeu".utf8).randomElement()!], as: UTF8.self)
        guard saltText.utf8.count == 22, saltText.utf8.allSatisfy({ BCrypt.alphabet.contains($0) }) else {
            throw ProvisionError("password_hash: a bcrypt salt is 22 characters of [./A-Za-z0-9], not '\(saltText)'")
        }
        return BCrypt.hash(Array(password.utf8), salt: saltText, cost: cost, ident: ident)
    }

    /// MD5-crypt (`$1$`, Poul-Henning Kamp's, as glibc's crypt(3) and `openssl passwd -1`); `salt`
    /// at most 8 bytes. Weak (fixed 1000 rounds of MD5): for systems that take nothing else.
    static func md5Crypt(_ key: [UInt8], salt: [UInt8]) -> String {
        func md5(_ parts: [UInt8]...) -> [UInt8] {
            var h = Insecure.MD5()
            for part in parts { h.update(data: part) }
            return Array(h.finalize())
        }
        let magic = Array("$1$".utf8)
        let alternate = md5(key, salt, key)
        var a = key + magic + salt
        var n = key.count
        while n > 0 { a += alternate.prefix(min(16, n)); n -= 16 }
        n = key.count
        while n > 0 { a.append((n & 1) != 0 ? 0 : (key.first ?? 0)); n >>= 1 }
        var c = md5(a)
        let none: [UInt8] = []
        for i in 0..<1000 {
            let odd = (i & 1) != 0
            c = md5(odd ? key : c, i % 3 != 0 ? salt : none, i % 7 != 0 ? key : none, odd ? c : key)
        }
        var out = "$1$" + String(decoding: salt, as: UTF8.self) + "$"
        func encode(_ b2: UInt8, _ b1: UInt8, _ b0: UInt8, _ count: Int) {
            var w = (Int(b2) << 16) | (Int(b1) << 8) | Int(b0)
            for _ in 0..<count { out.append(Character(UnicodeScalar(alphabet[w & 0x3f]))); w >>= 6 }
        }
        for (x, y, z) in [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)] { encode(c[x], c[y], c[z], 4) }
        encode(0, 0, c[11], 2)
        return out
    }

    /// The algorithm itself; `salt` at most 16 bytes.
    static func shaCrypt(_ key: [UInt8], salt: [UInt8], rounds explicitRounds: Int?, sha512: Bool) -> String {
        let digest: ([UInt8]) -> [UInt8] = sha512 ? { Array(Crypto.SHA512.hash(data: $0)) } : { Array(Crypto.SHA256.hash(data: $0)) }
        let size = sha512 ? 64 : 32
        let rounds = explicitRounds ?? defaultRounds
        /// `bytes` repeated, then cut, to `count` bytes.
        func stretch(_ bytes: [UInt8], _ count: Int) -> [UInt8] {
            (0..<count).map { bytes[$0 % bytes.count] }
        }

        let b = digest(key + salt + key)
        var a = key + salt + stretch(b, key.count)
        var n = key.count
        while n > 0 { a += (n & 1) != 0 ? b : key; n >>= 1 }
        var c = digest(a)
        let p = stretch(digest(Array(repeating: key, count: key.count).flatMap { $0 }), key.count)
        let s = stretch(digest(Array(repeating: salt, count: 16 + Int(c[0])).flatMap { $0 }), salt.count)
        // The rounds feed the hasher piece by piece: no buffer is built per round (656000 rounds
        // are what passlib-era Ansible content asks for).
        func digestParts(_ parts: [UInt8]...) -> [UInt8] {
            if sha512 {
                var h = Crypto.SHA512()
                for part in parts { h.update(data: part) }
                return Array(h.finalize())
            }
            var h = Crypto.SHA256()
            for part in parts { h.update(data: part) }
            return Array(h.finalize())
        }
        let none: [UInt8] = []
        for i in 0..<rounds {
            let odd = (i & 1) != 0
            c = digestParts(odd ? p : c, i % 3 != 0 ? s : none, i % 7 != 0 ? p : none, odd ? c : p)
        }
        precondition(c.count == size)

        var out = sha512 ? "$6$" : "$5$"
        if let explicitRounds, explicitRounds != defaultRounds { out += "rounds=\(explicitRounds)$" }
        out += String(decoding: salt, as: UTF8.self) + "$"
        func encode(_ b2: UInt8, _ b1: UInt8, _ b0: UInt8, _ count: Int) {
            var w = (Int(b2) << 16) | (Int(b1) << 8) | Int(b0)
            for _ in 0..<count { out.append(Character(UnicodeScalar(alphabet[w & 0x3f]))); w >>= 6 }
        }
        if sha512 {
            // Byte triples (k, k+21, k+42) rotated left by k mod 3 (right for SHA-256), as glibc orders them.
            for k in 0..<21 {
                let t = [k, k + 21, k + 42]
                let r = k % 3
                encode(c[t[r]], c[t[(r + 1) % 3]], c[t[(r + 2) % 3]], 4)
            }
            encode(0, 0, c[63], 2)
        } else {
            for k in 0..<10 {
                let t = [k, k + 10, k + 20]
                let r = (3 - k % 3) % 3
                encode(c[t[r]], c[t[(r + 1) % 3]], c[t[(r + 2) % 3]], 4)
            }
            encode(0, c[31], c[30], 3)
        }
        return out
    }
}
