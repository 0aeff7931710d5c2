// The files the agent owns in a data directory: pgha.conf (included by postgresql.conf), pg_hba.conf,
// standby.signal, and the pgpass file that keeps passwords out of argv.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Where a replica streams from: a member of this cluster, or a standby cluster's remote primary.
public struct UpstreamServer: Equatable, Sendable {
    public var name: String
    /// libpq host (or host list, "a,b") and port (or port list).
    public var host: String
    public var port: String
    /// primary_slot_name; nil: this member's slot on a member of its own cluster, "": none.
    public var slot: String?
    /// A standby cluster's restore_command, archive_cleanup_command and recovery_min_apply_delay.
    public var restoreCommand: String?
    public var archiveCleanupCommand: String?
    public var applyDelay: String?
    public init(name: String, host: String, port: Int) { self.name = name; self.host = host; self.port = "\(port)" }

    /// A standby cluster's remote primary (several hosts: the read-write one, as Patroni connects).
    public init(remote s: StandbyCluster) {
        name = s.upstreamName; host = s.host ?? ""; port = s.port ?? "5432"
        slot = s.primarySlotName ?? ""; restoreCommand = s.restoreCommand
        archiveCleanupCommand = s.archiveCleanupCommand; applyDelay = s.recoveryMinApplyDelay
    }

    /// libpq's host, port (and target_session_attrs for a host list) for a connection string.
    /// A host list also gets tcp_user_timeout: the walreceiver connects asynchronously and does
    /// not apply connect_timeout, so a dead host in the list (its address silent) held every
    /// attempt for the kernel's SYN retries, about 65 s on the DR lab; TCP_USER_TIMEOUT bounds
    /// the connect (and unacknowledged data later) to 5 s.
    public var conninfo: String {
        host.contains(",") ? "host=\(host) port=\(port) target_session_attrs=read-write tcp_user_timeout=5000" : "host=\(host) port=\(port)"
    }
}

public struct PostgresFiles: Sendable {
    public let config: AgentConfig
    public init(config: AgentConfig) { self.config = config }

    var pg: PostgresConfig { config.postgres }
    public var dataDir: String { pg.dataDir }
    public var confPath: String { dataDir + "/pgha.conf" }
    public var logPath: String { dataDir + ".log" }
    /// The unix socket directory: `<data_dir>.sock`, mode 0700 so only the postgres user reaches it
    /// (which is what makes `local all all trust` safe), unless parameters name one. Not inside the
    /// data dir: pg_rewind would try to copy the socket file from the source and fail.
    public var socketDir: String {
        let configured = pg.parameters["unix_socket_directories"] ?? ""
        return configured.split(separator: ",").first.map { $0.trimmingSpaces() } ?? dataDir + ".sock"
    }

    /// Physical slot name for a member (Patroni's rule: lower case, [a-z0-9_]).
    public static func slotName(_ member: String) -> String {
        String(member.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    /// pg_hba.conf when the configuration gives none: the socket (private dir) trusted, every TCP
    /// client by password.
    public var defaultHBA: [String] {
        ["local all all trust",
         "host replication \(pg.replication.username) 0.0.0.0/0 scram-sha-256",
         "host all all 0.0.0.0/0 scram-sha-256",
         "host replication \(pg.replication.username) ::/0 scram-sha-256",
         "host all all ::/0 scram-sha-256"]
    }

    /// Parameters pgha needs for replication, then bootstrap.dcs / `config` parameters, then the
    /// local postgresql.parameters (the most specific wins).
    public func parameters(dynamic: [String: String]) -> [String: String] {
        var p: [String: String] = [
            "listen_addresses": "'\(pg.listen.host == "0.0.0.0" ? "*" : pg.listen.host)'",
            "port": "\(pg.listen.port)",
            "unix_socket_directories": "'\(socketDir)'",
            "wal_level": "replica", "hot_standby": "on", "wal_log_hints": "on",
            "max_wal_senders": "10", "max_replication_slots": "10", "wal_keep_size": "128MB",
            // The walreceiver retries a missing slot or a not-yet-promoted primary this often (default 5 s).
            "wal_retrieve_retry_interval": "500ms",
            "hba_file": "'\(dataDir)/pg_hba.conf'",
            "ident_file": "'\(dataDir)/pg_ident.conf'",
            // After a crash, PG fsyncs every file of the data dir one by one (seconds on a busy disk);
            // syncfs does it per filesystem, which is what makes an in-place restart fast.
            "recovery_init_sync_method": "syncfs",
        ]
        for (k, v) in fitted(dynamic: dynamic).parameters { p[k] = quote(v) }
        return p
    }

    /// The cluster-wide and local parameters fitted to the installed server (`ServerParameters`),
    /// each layer on its own so a local wal_keep_size still wins over a cluster-wide wal_keep_segments.
    public func fitted(dynamic: [String: String]) -> ParameterFit {
        let server = ServerParameters.cached(binDir: pg.binDir)
        let cluster = ParameterFit.fit(dynamic, to: server), local = ParameterFit.fit(pg.parameters, to: server)
        var fit = ParameterFit(parameters: cluster.parameters.merging(local.parameters, uniquingKeysWith: { $1 }))
        fit.renamed = cluster.renamed + local.renamed.map { "local " + $0 }
        fit.unknown = Array(Set(cluster.unknown + local.unknown)).sorted()
        fit.invalid = cluster.invalid + local.invalid.map { "local " + $0 }
        return fit
    }

    func quote(_ v: String) -> String {
        if v.hasPrefix("'") || Double(v) != nil || v.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) { return v }
        return "'" + v.replacing("'", with: "''") + "'"
    }

    /// The line of pgha.conf after which only replication and recovery settings follow.
    public static let replicationMarker = "# replication and recovery of this member (not from the config key):"

    /// pgha.conf text: parameters plus, on a replica, where to stream from.
    /// `recovery`: settings for a recovery the bootstrap method asks for (restore_command, recovery_target_*).
    public func confText(dynamic: [String: String], upstream: UpstreamServer?, recovery: [String: String] = [:]) -> String {
        var lines = ["# Written by pgha for member \(config.name); rewritten on every start. Do not edit."]
        lines.append("# pgha-following: \(upstream?.name ?? "")")
        for (k, v) in parameters(dynamic: dynamic).sorted(by: { $0.key < $1.key }) { lines.append("\(k) = \(v)") }
        // Below the marker: this member's replication and recovery, which the `config` key does not
        // set (ConfigSync compares only the lines above it).
        lines.append(Self.replicationMarker)
        if let upstream, !upstream.host.isEmpty {
            let conninfo = "\(upstream.conninfo) user=\(pg.replication.username) passfile=\(pg.pgpass) application_name=\(config.name) connect_timeout=2" + pg.replication.conninfoSuffix
            lines.append("primary_conninfo = '\(conninfo.replacing("'", with: "''"))'")
            lines.append("primary_slot_name = '\((upstream.slot ?? Self.slotName(config.name)).replacing("'", with: "''"))'")
        } else {
            lines.append("primary_conninfo = ''")
            lines.append("primary_slot_name = ''")
        }
        // On a primary too: it is a restart-only setting, so a promoted replica whose file lost the
        // line would show pending_restart after its next reload (inert outside recovery).
        lines.append("recovery_target_timeline = 'latest'")
        for (k, v) in [("restore_command", upstream?.restoreCommand), ("archive_cleanup_command", upstream?.archiveCleanupCommand),
                       ("recovery_min_apply_delay", upstream?.applyDelay)] {
            if let v { lines.append("\(k) = '\(v.replacing("'", with: "''"))'") }
        }
        for (k, v) in recovery.sorted(by: { $0.key < $1.key }) { lines.append("\(k) = '\(v.replacing("'", with: "''"))'") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The member a replica's pgha.conf points at ("" for none), read back from the file.
    public func following() -> String? {
        guard let text = try? String(contentsOfFile: confPath, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("# pgha-following:") {
            let name = line.dropFirst("# pgha-following:".count).trimmingSpaces()
            return name.isEmpty ? nil : name
        }
        return nil
    }

    /// pg_hba.conf's lines: this member's postgresql.pg_hba, else the cluster-wide ones (`config`
    /// key, seeded from bootstrap.dcs.postgresql.pg_hba), else `defaultHBA` — Patroni's order.
    public func hbaLines(cluster: [String]?) -> [String] {
        if !pg.pgHBA.isEmpty { return pg.pgHBA }
        if let cluster, !cluster.isEmpty { return cluster }
        return defaultHBA
    }

    /// Writes pgha.conf, pg_hba.conf, the include line and (for a replica) standby.signal.
    public func write(dynamic: [String: String], upstream: UpstreamServer?, standby: Bool, clusterHBA: [String]? = nil,
                      recovery: [String: String] = [:]) throws {
        if !FileManager.default.fileExists(atPath: socketDir) {
            try FileManager.default.createDirectory(atPath: socketDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        try atomicWrite(confPath, confText(dynamic: dynamic, upstream: upstream, recovery: recovery))
        try atomicWrite(dataDir + "/pg_hba.conf", hbaLines(cluster: clusterHBA).joined(separator: "\n") + "\n")
        try atomicWrite(dataDir + "/pg_ident.conf", pg.pgIdent.map { $0 + "\n" }.joined())
        let main = dataDir + "/postgresql.conf"
        let text = (try? String(contentsOfFile: main, encoding: .utf8)) ?? ""
        if !text.contains("include 'pgha.conf'") {
            try atomicWrite(main, text + "\n# pgha: the agent's settings come last and win.\ninclude 'pgha.conf'\n")
        }
        let signal = dataDir + "/standby.signal"
        if standby { FileManager.default.createFile(atPath: signal, contents: Data()) }
        else { try? FileManager.default.removeItem(atPath: signal) }
    }

    /// The last FATAL or PANIC line of the server log (its last 64 KiB), for an error saying why
    /// Postgres stopped; nil when there is none.
    public func lastLogProblem() -> String? {
        let fd = open(logPath, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0, lseek(fd, max(0, size - 65536), SEEK_SET) >= 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(min(size, 65536)))
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        let text = String(decoding: bytes[0..<n], as: UTF8.self)
        return text.split(separator: "\n").last { $0.contains("FATAL:") || $0.contains("PANIC:") }.map(String.init)
    }

    /// Postgres's recovery parameters (with the names before version 12): this member's are
    /// pgha's to write (pgha.conf), as Patroni treats them.
    public static let recoveryParameters: Set<String> = [
        "archive_cleanup_command", "pause_at_recovery_target", "primary_conninfo", "primary_slot_name",
        "promote_trigger_file", "recovery_end_command", "recovery_min_apply_delay", "recovery_target",
        "recovery_target_action", "recovery_target_inclusive", "recovery_target_lsn", "recovery_target_name",
        "recovery_target_time", "recovery_target_timeline", "recovery_target_xid", "restore_command",
        "standby_mode", "trigger_file",
    ]

    /// Removes recovery parameters from postgresql.auto.conf (ALTER SYSTEM's file, read after
    /// postgresql.conf and so over pgha.conf); returns the names removed. A copy of another server
    /// brings that server's: a replica restored by pgBackRest its restore_command, a restored
    /// primary its recovery target. Every other line stays as it is.
    public func sanitizeAutoConf() throws -> [String] {
        let path = dataDir + "/postgresql.auto.conf"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        var kept: [Substring] = [], removed: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            let name = trimmed.prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }.lowercased()
            let rest = trimmed.dropFirst(name.count).drop { $0 == " " || $0 == "\t" }
            if Self.recoveryParameters.contains(name), !rest.isEmpty {
                removed.append(name)
            } else {
                kept.append(line)
            }
        }
        if !removed.isEmpty { try atomicWrite(path, kept.joined(separator: "\n")) }
        return removed
    }

    /// The pgpass file (0600) with the superuser's and the replication user's passwords.
    public func writePgpass() throws {
        func esc(_ s: String) -> String { s.replacing("\\", with: "\\\\").replacing(":", with: "\\:") }
        var lines: [String] = []
        for cred in [pg.superuser, pg.replication] + (pg.rewind.map { [$0] } ?? []) {
            if let pw = cred.password { lines.append("*:*:*:\(esc(cred.username)):\(esc(pw))") }
        }
        try atomicWrite(pg.pgpass, lines.joined(separator: "\n") + "\n", mode: 0o600)
    }

    public var hasData: Bool { FileManager.default.fileExists(atPath: dataDir + "/PG_VERSION") }

    /// Creates the data directory's missing parents (owned by the agent's user, 0750), as Patroni
    /// does: a data_dir under a directory that does not exist yet is a common first configuration.
    public func makeParentDirectory() throws {
        let parent = parentPath(dataDir)
        guard !parent.isEmpty, !FileManager.default.fileExists(atPath: parent) else { return }
        do {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        } catch {
            throw PostgresError("cannot create \(parent), the parent of data_dir \(dataDir): \(error)")
        }
    }

    /// Written by the initdb or clone that made this data directory, after it succeeded: a new
    /// value proves the directory was really replaced (pg_basebackup copies the source's file
    /// along, so every clone overwrites it). Timing and postmaster start times prove nothing.
    public var dataIdentityFile: String { dataDir + "/pgha.data_id" }

    /// "<uuid> <when> <how>", or nil when the directory has none (made before this file existed).
    public var dataIdentity: String? {
        (try? String(contentsOfFile: dataIdentityFile, encoding: .utf8))?.trimmingSpacesAndNewlines()
    }

    public func writeDataIdentity(madeBy how: String) throws {
        let stamp = iso8601(Date())
        try atomicWrite(dataIdentityFile, "\(UUID().uuidString.lowercased()) \(stamp) \(how)\n")
    }
    public var hasStandbySignal: Bool { FileManager.default.fileExists(atPath: dataDir + "/standby.signal") }
    public var hasRecoveryPending: Bool {
        ["/recovery.signal", "/backup_label"].contains { FileManager.default.fileExists(atPath: dataDir + $0) }
    }

    /// The conninfo the agent itself uses (unix socket, superuser, passfile).
    public var localConninfo: String {
        let host = pg.useUnixSocket ? socketDir : "127.0.0.1"
        return "host=\(host) port=\(pg.listen.port) user=\(pg.superuser.username) dbname=postgres passfile=\(pg.pgpass) application_name=pgha" + pg.superuser.conninfoSuffix
    }
}

/// Writes through a temporary file and rename, so a reader never sees half a file.
func atomicWrite(_ path: String, _ text: String, mode: Int = 0o600) throws {
    let tmp = path + ".pgha-tmp"
    guard FileManager.default.createFile(atPath: tmp, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
        throw PostgresError("cannot write \(path)")
    }
    guard rename(tmp, path) == 0 else { throw PostgresError("cannot rename \(tmp) to \(path): \(String(cString: strerror(errno)))") }
}

public struct PostgresError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
