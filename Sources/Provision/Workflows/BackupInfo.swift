// What the pgBackRest repository holds, parsed from `pgbackrest info --output=json` (pure), and the
// point in time `provision restore --to` asks for, checked before anything is touched.
import Foundation

/// One backup set of a stanza.
public struct BackupSet: Equatable, Sendable {
    public var label: String
    /// full | diff | incr
    public var type: String
    public var start: Date
    public var stop: Date
    /// Size of the database when it was backed up, and what the set takes in the repository.
    public var databaseBytes: Int64
    public var repositoryBytes: Int64
    /// The WAL the set needs to be consistent (first and last segment names).
    public var walStart: String
    public var walStop: String
    public var error: Bool

    public var json: [String: Any] {
        ["label": label, "type": type, "start": BackupInfo.iso(start), "stop": BackupInfo.iso(stop),
         "database_bytes": databaseBytes, "repository_bytes": repositoryBytes,
         "wal_start": walStart, "wal_stop": walStop, "error": error]
    }
}

/// A stanza as `pgbackrest info --output=json` shows it.
public struct BackupInfo: Equatable, Sendable {
    public var stanza: String
    /// pgBackRest's status of the stanza: 0 ok, 2 no valid backups, 1 missing stanza path, …
    public var statusCode: Int
    public var statusMessage: String
    /// Oldest and newest WAL segment in the archive (nil when the archive is empty).
    public var archiveMin: String?
    public var archiveMax: String?
    public var backups: [BackupSet]

    /// Parses the output for `stanza` (the JSON is an array of stanzas).
    public init(json text: String, stanza: String) throws {
        guard let array = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else {
            throw WorkflowError("pgbackrest info --output=json answered something that is not a JSON array of stanzas: \(text.prefix(200))")
        }
        guard let s = array.first(where: { $0["name"] as? String == stanza }) else {
            throw WorkflowError("pgbackrest info does not know stanza '\(stanza)' (it lists \(array.compactMap { $0["name"] as? String }))")
        }
        self.stanza = stanza
        let status = s["status"] as? [String: Any]
        statusCode = (status?["code"] as? NSNumber)?.intValue ?? -1
        statusMessage = status?["message"] as? String ?? ""
        // One entry per database version / system id; the last is the current one.
        let archives = (s["archive"] as? [[String: Any]]) ?? []
        archiveMin = archives.compactMap { $0["min"] as? String }.min()
        archiveMax = archives.compactMap { $0["max"] as? String }.max()
        backups = try ((s["backup"] as? [[String: Any]]) ?? []).map { b in
            guard let label = b["label"] as? String, let type = b["type"] as? String,
                  let ts = b["timestamp"] as? [String: Any],
                  let start = (ts["start"] as? NSNumber)?.doubleValue, let stop = (ts["stop"] as? NSNumber)?.doubleValue else {
                throw WorkflowError("pgbackrest info: a backup without label, type or timestamps: \(b)")
            }
            let info = b["info"] as? [String: Any]
            let repo = info?["repository"] as? [String: Any]
            let wal = b["archive"] as? [String: Any]
            return BackupSet(label: label, type: type, start: Date(timeIntervalSince1970: start), stop: Date(timeIntervalSince1970: stop),
                             databaseBytes: (info?["size"] as? NSNumber)?.int64Value ?? 0,
                             repositoryBytes: (repo?["size"] as? NSNumber)?.int64Value ?? 0,
                             walStart: wal?["start"] as? String ?? "", walStop: wal?["stop"] as? String ?? "",
                             error: b["error"] as? Bool ?? false)
        }.sorted { $0.stop < $1.stop }
    }

    /// The table `provision backups` prints.
    public var table: String {
        let rows = backups.map { b in
            [b.label, b.type, Self.display(b.start), Self.display(b.stop), Self.size(b.databaseBytes), Self.size(b.repositoryBytes),
             "\(b.walStart) - \(b.walStop)" + (b.error ? " (errors)" : "")]
        }
        var text = TextTable(header: ["Label", "Type", "Start (UTC)", "Stop (UTC)", "Size", "In repo", "WAL"], rows: rows).rendered
        text += "stanza \(stanza): \(statusMessage); archive \(archiveMin ?? "empty")\(archiveMax.map { " - " + $0 } ?? "")\n"
        return text
    }

    public var json: [String: Any] {
        ["stanza": stanza, "status": ["code": statusCode, "message": statusMessage],
         "archive": ["min": archiveMin.map { $0 as Any } ?? NSNull(), "max": archiveMax.map { $0 as Any } ?? NSNull()], "backups": backups.map(\.json)]
    }

    static func iso(_ d: Date) -> String { ISO8601DateFormatter().string(from: d) }
    static func display(_ d: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX"); f.timeZone = TimeZone(identifier: "UTC"); f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return f.string(from: d)
    }
    static func size(_ bytes: Int64) -> String {
        if bytes >= 1 << 30 { return String(format: "%.1f GB", Double(bytes) / Double(1 << 30)) }
        if bytes >= 1 << 20 { return String(format: "%.1f MB", Double(bytes) / Double(1 << 20)) }
        return String(format: "%.1f KB", Double(bytes) / 1024)
    }
}

/// Where `provision restore` recovers to: a point in time with an explicit zone, or the end of the archive.
public enum RestoreTarget: Equatable, Sendable {
    case time(Date, microseconds: Int)
    case latest

    /// `--to` text: `YYYY-MM-DD HH:MM:SS[.ffffff]` (or with `T`) and a zone (`Z`, `UTC`, `+HH`, `+HH:MM`,
    /// `+HHMM`). A time without a zone is refused: the hosts' zone is not the operator's.
    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        let pattern = #"^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)$"#
        let regex = try NSRegularExpression(pattern: pattern, options: [.caseInsensitive])
        guard let m = regex.firstMatch(in: t, range: NSRange(t.startIndex..., in: t)) else {
            throw WorkflowError("--to '\(text)': expected a time with a zone, like '2026-12-07 01:23:45+00' or '2026-12-07T01:23:45.5Z'")
        }
        func group(_ i: Int) -> String? { Range(m.range(at: i), in: t).map { String(t[$0]) } }
        let n = (1...6).map { Int(group($0)!)! }
        guard (1...12).contains(n[1]), (1...31).contains(n[2]), n[3] < 24, n[4] < 60, n[5] < 60 else {
            throw WorkflowError("--to '\(text)': not a valid date and time")
        }
        var offset = 0
        let zone = group(8)!.uppercased()
        if zone != "Z", zone != "UTC" {
            let digits = zone.dropFirst().replacingOccurrences(of: ":", with: "")
            let hours = Int(digits.prefix(2))!, minutes = digits.count > 2 ? Int(digits.suffix(2))! : 0
            guard hours <= 14, minutes < 60 else { throw WorkflowError("--to '\(text)': zone offset \(zone) out of range") }
            offset = (hours * 3600 + minutes * 60) * (zone.hasPrefix("-") ? -1 : 1)
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 0)!
        let components = DateComponents(year: n[0], month: n[1], day: n[2], hour: n[3], minute: n[4], second: n[5])
        guard let utc = calendar.date(from: components), calendar.component(.day, from: utc) == n[2] else {
            throw WorkflowError("--to '\(text)': not a valid date (day \(n[2]) of month \(n[1]))")
        }
        let fraction = group(7).map { String($0.dropFirst()).padding(toLength: 6, withPad: "0", startingAt: 0) } ?? "000000"
        self = .time(utc.addingTimeInterval(Double(-offset)), microseconds: Int(fraction)!)
    }

    /// The instant, to the microsecond.
    public var date: Date? {
        if case let .time(d, us) = self { return d.addingTimeInterval(Double(us) / 1_000_000) }
        return nil
    }

    /// pgBackRest's --target (Postgres' recovery_target_time): UTC, microseconds, `+00`.
    public var pgbackrestTarget: String? {
        guard case let .time(d, us) = self else { return nil }
        return BackupInfo.display(d) + String(format: ".%06d+00", us)
    }

    /// Refuses a target the repository cannot reach: in the future, or before every backup finished.
    public func check(against info: BackupInfo, now: Date = Date()) throws {
        let usable = info.backups.filter { !$0.error }
        guard let oldest = usable.first else {
            throw WorkflowError("stanza \(info.stanza) has no backup to restore from (provision backup INV makes one)")
        }
        guard let target = date else { return }
        if target > now.addingTimeInterval(1) {
            throw WorkflowError("--to \(pgbackrestTarget!) is in the future (now \(BackupInfo.display(now)) UTC)")
        }
        if target < oldest.stop {
            throw WorkflowError("--to \(pgbackrestTarget!) is before the oldest backup finished (\(oldest.label), \(BackupInfo.display(oldest.stop)) UTC): no backup can reach it")
        }
    }
}
