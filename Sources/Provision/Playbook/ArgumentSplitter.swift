import Foundation

/// Ansible's free-form `k=v` argument strings (`file: path={{ root }}/etc state=directory mode=0755`),
/// split the way Ansible documents it: whitespace separates words except inside '…' or "…"
/// quotes and inside `{{ }}`, `{% %}`, `{# #}` blocks; a backslash keeps the next quote from
/// opening or closing; `\` at the end of a line continues it. A word is `key=value` at its first
/// `=` that is not escaped (`\=`) and not its first character; the value's Python escapes
/// (`\n`, `\t`, `\\`, `\"`, `\x41`, `\u00e9`) are decoded and one pair of surrounding quotes
/// removed. Other words are free-form text, rejoined with the whitespace that followed each
/// (so a `shell: |` script keeps its spacing, line breaks and indentation).
enum ArgumentSplitter {
    /// The only keys `command`/`shell` take as `k=v`; any other `a=b` word is part of the command
    /// (`shell: echo foo=bar chdir=/tmp` runs `echo foo=bar` in /tmp), as in Ansible.
    static let commandKeys: Set<String> = ["creates", "removes", "chdir", "executable", "warn", "stdin",
                                           "stdin_add_newline", "strip_empty_ends"]

    /// One word as written (quotes kept) and the whitespace that followed it.
    struct Word: Equatable {
        var text: String
        var trailing = ""
    }

    struct SplitError: Error, CustomStringConvertible {
        var description: String
    }

    /// Options given as `k=v` and the free-form rest (nil when there is none).
    static func parse(_ text: String, commandStyle: Bool) throws -> (options: [String: String], freeForm: String?) {
        var options: [String: String] = [:]
        var free: [Word] = []
        for word in try split(text) {
            let decoded = decodeEscapes(word.text)
            guard let eq = separator(in: decoded) else {
                // Only escaped `=` (or none): the word is free-form text, `\=` read as `=`.
                let text = decoded.contains("=") ? decoded.replacingOccurrences(of: "\\=", with: "=") : word.text
                free.append(Word(text: text, trailing: word.trailing))
                continue
            }
            let key = String(decoded[..<eq])
            if commandStyle && !commandKeys.contains(key) {
                free.append(word)
                continue
            }
            let value = String(decoded[decoded.index(after: eq)...])
            options[key.trimmingCharacters(in: .whitespaces)] = unquote(value.trimmingCharacters(in: .whitespaces))
        }
        return (options, free.isEmpty ? nil : join(free))
    }

    /// The index of the first `=` that is neither the word's first character nor escaped.
    static func separator(in word: String) -> String.Index? {
        for i in word.indices where i != word.startIndex {
            if word[i] == "=" && word[word.index(before: i)] != "\\" { return i }
        }
        return nil
    }

    /// Splits into words. Throws when a quote or a `{{`/`{%`/`{#` block is left open.
    static func split(_ text: String) throws -> [Word] {
        var words: [Word] = []
        var current = ""
        var started = false
        var quote: Character?
        var blocks: [Character] = []   // the closing brace partner of each open block: "}", "%", "#"
        let chars = Array(text)
        var i = 0
        func finish(space: Character?) {
            if started { words.append(Word(text: current)); current = ""; started = false }
            if let space, !words.isEmpty { words[words.count - 1].trailing.append(space) }
        }
        while i < chars.count {
            let ch = chars[i]
            let next: Character? = i + 1 < chars.count ? chars[i + 1] : nil
            let escaped = i > 0 && chars[i - 1] == "\\"
            if let q = quote {
                current.append(ch)
                if ch == q && !escaped { quote = nil }
                i += 1
                continue
            }
            if (ch == "'" || ch == "\"") && !escaped {
                quote = ch; current.append(ch); started = true; i += 1
                continue
            }
            if ch == "{", let n = next, n == "{" || n == "%" || n == "#" {
                blocks.append(n == "{" ? "}" : n)
                current.append(ch); current.append(n); started = true; i += 2
                continue
            }
            if let open = blocks.last, ch == open, next == "}" {
                blocks.removeLast()
                current.append(ch); current.append("}"); i += 2
                continue
            }
            if blocks.isEmpty && ch == "\\" && next == "\n" {
                i += 2  // line continuation
                continue
            }
            if blocks.isEmpty && (ch == " " || ch == "\t" || ch == "\n" || ch == "\r") {
                finish(space: ch)
                i += 1
                continue
            }
            current.append(ch); started = true; i += 1
        }
        if quote != nil || !blocks.isEmpty {
            throw SplitError(description: "failed at splitting arguments, either an unbalanced jinja2 block or quotes: \(text)")
        }
        finish(space: nil)
        return words
    }

    /// Words back into one string, each followed by its own whitespace (a space if it had none).
    static func join(_ words: [Word]) -> String {
        var out = ""
        for (n, w) in words.enumerated() {
            if n > 0 { out += words[n - 1].trailing.isEmpty ? " " : words[n - 1].trailing }
            out += w.text
        }
        return out
    }

    /// Removes one pair of matching surrounding quotes.
    static func unquote(_ s: String) -> String {
        guard s.count >= 2, let f = s.first, f == "\"" || f == "'", s.last == f else { return s }
        return String(s.dropFirst().dropLast())
    }

    /// Decodes Python string escapes (`\\ \' \" \a \b \f \n \r \t \v`, `\ooo`, `\xhh`, `\uhhhh`,
    /// `\Uhhhhhhhh`); any other backslash is kept as written.
    static func decodeEscapes(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        let chars = Array(s)
        var out = ""
        var i = 0
        func hex(_ from: Int, _ count: Int) -> Character? {
            guard from + count <= chars.count, let v = UInt32(String(chars[from..<from + count]), radix: 16),
                  let u = Unicode.Scalar(v) else { return nil }
            return Character(u)
        }
        while i < chars.count {
            let ch = chars[i]
            guard ch == "\\", i + 1 < chars.count else { out.append(ch); i += 1; continue }
            let n = chars[i + 1]
            let simple: [Character: Character] = ["\\": "\\", "'": "'", "\"": "\"", "a": "\u{07}", "b": "\u{08}",
                                                  "f": "\u{0C}", "n": "\n", "r": "\r", "t": "\t", "v": "\u{0B}"]
            if let r = simple[n] { out.append(r); i += 2; continue }
            if n == "x", let c = hex(i + 2, 2) { out.append(c); i += 4; continue }
            if n == "u", let c = hex(i + 2, 4) { out.append(c); i += 6; continue }
            if n == "U", let c = hex(i + 2, 8) { out.append(c); i += 10; continue }
            if n.isASCII, ("0"..."7").contains(n) {
                var j = i + 1, digits = ""
                while j < chars.count, j < i + 4, chars[j].isASCII, ("0"..."7").contains(chars[j]) { digits.append(chars[j]); j += 1 }
                if let v = UInt32(digits, radix: 8), let u = Unicode.Scalar(v) { out.append(Character(u)); i = j; continue }
            }
            out.append(ch); i += 1
        }
        return out
    }
}
