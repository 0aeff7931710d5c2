/// bcrypt (`$2b$`: Provos and Mazières' EksBlowfish), as OpenBSD's crypt, libxcrypt's crypt(3)
/// and passlib compute it: `'secret' | password_hash('bcrypt', salt, rounds=cost)`.
enum BCrypt {
    /// bcrypt's own base64 alphabet (not crypt's), most significant bits first.
    static let alphabet = Array("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)

    /// `$<ident>$<cost>$<22 salt characters><31 hash characters>`; `salt` is 22 characters of the
    /// alphabet (16 bytes; the last character's unused bits are dropped, as crypt drops them).
    static func hash(_ password: [UInt8], salt: String, cost: Int, ident: String) -> String {
        let saltBytes = Array(decode(Array(salt.utf8)).prefix(16))
        // The key: the password's first 72 bytes and its terminating NUL, cycled.
        let key = Array(password.prefix(72)) + [0]
        var state = State()
        state.expand(salt: saltBytes, key: key)
        for _ in 0..<(1 << cost) {
            state.expand(salt: nil, key: key)
            state.expand(salt: nil, key: saltBytes)
        }
        var text = Array("OrpheanBeholderScryDoubt".utf8)
        var words = (0..<6).map { i in text[(i * 4)..<(i * 4 + 4)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } }
        for _ in 0..<64 {
            for i in stride(from: 0, to: 6, by: 2) {
                var (l, r) = (words[i], words[i + 1])
                state.encrypt(&l, &r)
                (words[i], words[i + 1]) = (l, r)
            }
        }
        text = words.flatMap { w in (0..<4).map { UInt8(truncatingIfNeeded: w >> (24 - 8 * $0)) } }
        return "$\(ident)$" + (cost < 10 ? "0\(cost)" : "\(cost)") + "$" + encode(saltBytes) + encode(Array(text.prefix(23)))
    }

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let b0 = Int(bytes[i])
            out.append(alphabet[b0 >> 2])
            var rest = (b0 & 0x03) << 4
            guard i + 1 < bytes.count else { out.append(alphabet[rest]); break }
            let b1 = Int(bytes[i + 1])
            out.append(alphabet[rest | b1 >> 4]); rest = (b1 & 0x0f) << 2
            guard i + 2 < bytes.count else { out.append(alphabet[rest]); break }
            let b2 = Int(bytes[i + 2])
            out.append(alphabet[rest | b2 >> 6]); out.append(alphabet[b2 & 0x3f])
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ chars: [UInt8]) -> [UInt8] {
        let values = chars.compactMap { c in alphabet.firstIndex(of: c) }
        var out: [UInt8] = []
        var i = 0
        while i + 1 < values.count {
            let (c0, c1) = (values[i], values[i + 1])
            out.append(UInt8((c0 << 2 | c1 >> 4) & 0xff))
            guard i + 2 < values.count else { break }
            let c2 = values[i + 2]
            out.append(UInt8(((c1 & 0x0f) << 4 | c2 >> 2) & 0xff))
            guard i + 3 < values.count else { break }
            out.append(UInt8(((c2 & 0x03) << 6 | values[i + 3]) & 0xff))
            i += 4
        }
        return out
    }

    /// Blowfish's P-array and S-boxes (the four boxes one after another).
    struct State {
        var p = BlowfishConstants.p
        var s = BlowfishConstants.s

        func f(_ x: UInt32) -> UInt32 {
            let a = s[Int(x >> 24)], b = s[256 + Int((x >> 16) & 0xff)]
            let c = s[512 + Int((x >> 8) & 0xff)], d = s[768 + Int(x & 0xff)]
            return ((a &+ b) ^ c) &+ d
        }

        func encrypt(_ l: inout UInt32, _ r: inout UInt32) {
            var (xl, xr) = (l, r)
            for i in 0..<16 {
                xl ^= p[i]; xr ^= f(xl)
                swap(&xl, &xr)
            }
            swap(&xl, &xr)
            xr ^= p[16]; xl ^= p[17]
            (l, r) = (xl, xr)
        }

        /// The next four bytes of `data`, cycled, as a big-endian word.
        static func word(_ data: [UInt8], _ j: inout Int) -> UInt32 {
            var w: UInt32 = 0
            for _ in 0..<4 { w = w << 8 | UInt32(data[j]); j = (j + 1) % data.count }
            return w
        }

        /// ExpandKey: the key into P, then P and S rewritten by encrypting (salted, when given).
        mutating func expand(salt: [UInt8]?, key: [UInt8]) {
            var j = 0
            for i in 0..<18 { p[i] ^= Self.word(key, &j) }
            var (l, r): (UInt32, UInt32) = (0, 0)
            j = 0
            for i in stride(from: 0, to: 18, by: 2) {
                if let salt { l ^= Self.word(salt, &j); r ^= Self.word(salt, &j) }
                encrypt(&l, &r); p[i] = l; p[i + 1] = r
            }
            for i in stride(from: 0, to: 1024, by: 2) {
                if let salt { l ^= Self.word(salt, &j); r ^= Self.word(salt, &j) }
                encrypt(&l, &r); s[i] = l; s[i + 1] = r
            }
        }
    }
}
