import Foundation

/// Reads the control machine's Debian release and apt mirror, so the lab image matches the
/// machine and the mirror is whatever the machine already uses (never written into the code).
public enum AptSources {
    /// VERSION_CODENAME from /etc/os-release.
    public static func hostCodename(osRelease: String = "/etc/os-release") throws -> String {
        guard let text = try? String(contentsOfFile: osRelease, encoding: .utf8) else {
            throw LabError("cannot read \(osRelease) to find the Debian release; set lab.release in the inventory")
        }
        for line in text.split(separator: "\n") where line.hasPrefix("VERSION_CODENAME=") {
            let v = line.dropFirst("VERSION_CODENAME=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\"' "))
            if !v.isEmpty { return v }
        }
        throw LabError("\(osRelease) has no VERSION_CODENAME; set lab.release in the inventory")
    }

    /// The first mirror serving `suite` with component `main`, from /etc/apt/sources.list,
    /// sources.list.d/*.list (one-line format) and sources.list.d/*.sources (deb822).
    public static func mirror(for suite: String, etcApt: String = "/etc/apt") throws -> String {
        var files = ["\(etcApt)/sources.list"]
        let dir = "\(etcApt)/sources.list.d"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
        files += names.filter { $0.hasSuffix(".list") || $0.hasSuffix(".sources") }.map { "\(dir)/\($0)" }
        let texts = files.compactMap { f in (try? String(contentsOfFile: f, encoding: .utf8)).map { (f, $0) } }
        func find(_ suite: String?) -> String? {
            for (file, text) in texts {
                let found = file.hasSuffix(".sources") ? deb822Mirror(text, suite: suite) : oneLineMirror(text, suite: suite)
                if let found { return found }
            }
            return nil
        }
        // Another release than the machine's (lab.release): the same archive serves every suite.
        if let found = find(suite) ?? find(nil) { return found }
        throw LabError("no apt source for '\(suite) main' in \(files.joined(separator: ", ")): the lab image is bootstrapped from the machine's own mirror")
    }

    /// `deb [options] URI SUITE COMPONENT...` lines.
    /// `suite` nil: any suite of the main archive (not security, updates or backports).
    static func oneLineMirror(_ text: String, suite: String?) -> String? {
        for raw in text.split(separator: "\n") {
            var line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
                .trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix("deb ") || line.hasPrefix("deb\t") else { continue }
            line = String(line.dropFirst(4)).trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("["), let end = line.firstIndex(of: "]") {
                line = String(line[line.index(after: end)...]).trimmingCharacters(in: .whitespaces)
            }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if fields.count >= 3, matches(fields[1], suite), fields[2...].contains("main"), isUsable(fields[0]) {
                return fields[0]
            }
        }
        return nil
    }

    /// deb822 stanzas: Types / URIs / Suites / Components, blank-line separated.
    static func deb822Mirror(_ text: String, suite: String?) -> String? {
        for stanza in text.components(separatedBy: "\n\n") {
            var fields: [String: [String]] = [:]
            for line in stanza.split(separator: "\n") where !line.hasPrefix("#") && !line.hasPrefix(" ") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                let key = line[..<colon].lowercased()
                fields[key] = line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            }
            if fields["enabled"]?.first?.lowercased() == "no" { continue }
            guard fields["types"]?.contains("deb") == true, fields["suites"]?.contains(where: { matches($0, suite) }) == true,
                  fields["components"]?.contains("main") == true,
                  let uri = fields["uris"]?.first(where: isUsable) else { continue }
            return uri
        }
        return nil
    }

    private static func matches(_ listed: String, _ suite: String?) -> Bool {
        if let suite { return listed == suite }
        return !listed.contains("-") && !listed.contains("/")
    }

    private static func isUsable(_ uri: String) -> Bool { uri.hasPrefix("http://") || uri.hasPrefix("https://") }
}
