// Postgres as the agent drives it: initdb, start/stop/promote, clone, rewind, slots, and the state probe.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import PQ

/// What the agent sees of its own Postgres in one probe.
public struct LocalPostgres: Equatable, Sendable {
    public enum Run: String, Sendable { case noData = "uninitialized", stopped, starting, running }
    public var run: Run = .noData
    public var inRecovery = false
    public var timeline = 0
    /// pg_current_wal_lsn on a primary.
    public var writeLSN: Int64 = 0
    public var receivedLSN: Int64 = 0
    public var replayedLSN: Int64 = 0
    public var replayedTimestamp: String?
    public var replayPaused = false
    public var streaming = false
    public var systemIdentifier: String?
    public var hasStandbySignal = false
    /// recovery.signal or backup_label in the data directory: a restored backup that must recover
    /// (from the archive) before it can run as a primary, so it is never started as one directly.
    public var recoveryPending = false
    /// pg_controldata's "Database cluster state" when stopped ("shut down", "in production", …).
    public var controlState: String?
    /// The member the replica's pgha.conf streams from.
    public var following: String?
    public var pendingRestart = false
    public var postmasterStartTime: String?
    public var serverVersion = 0
    /// The identity written into the data directory by the initdb or clone that made it
    /// (`PostgresFiles.dataIdentityFile`); a reinit is done only once this has changed.
    public var dataIdentity: String?
    public init() {}

    /// A stopped data directory that last ran as a primary (cleanly stopped or crashed): it may hold
    /// WAL the new leader never saw, so it rejoins through pg_rewind.
    public var wasPrimary: Bool {
        if let state = controlState { return state == "shut down" || state == "in production" || state == "shutting down" }
        return !hasStandbySignal
    }

    public var isPrimary: Bool { run == .running && !inRecovery }
    public var isReplica: Bool { run == .running && inRecovery }
    /// The WAL position used to compare candidates.
    public var lsn: Int64 { inRecovery ? max(receivedLSN, replayedLSN) : writeLSN }
}

public enum StopMode: String, Sendable { case smart, fast, immediate }

public final class PostgresControl: @unchecked Sendable {
    /// The agent's files; replaced (never changed in place) when SIGHUP re-reads the local
    /// parameters, pg_hba and pg_ident.
    public var files: PostgresFiles { filesBox.get() }
    private let filesBox: Locked<PostgresFiles>
    let session: PGSession
    var pg: PostgresConfig { files.config.postgres }
    var env: [String: String] { ["PGPASSFILE": pg.pgpass, "PGCONNECT_TIMEOUT": "3"] }

    /// Where warnings about the written parameters go (the agent's logger).
    let warn: @Sendable (String) -> Void
    /// The parameter warnings last reported, so each distinct set is said once, not on every write.
    let reportedFit = Locked([String]())

    /// postgresql.callbacks (nil: none configured).
    let callbacks: CallbackRunner?
    /// The role Postgres last started or was promoted in, for on_role_change (nil: not known yet).
    let lastRole = Locked<String?>(nil)
    /// Set by a stop that is half of a restart: the start that follows fires on_restart, not on_stop + on_start.
    let restarting = Locked(false)

    public init(config: AgentConfig, callbacks: CallbackRunner? = nil, warn: @escaping @Sendable (String) -> Void = { _ in }) {
        let files = PostgresFiles(config: config)
        filesBox = Locked(files)
        session = PGSession(conninfo: files.localConninfo, connectTimeout: 2, label: "pgha.local")
        self.callbacks = callbacks
        self.warn = warn
    }

    /// Takes the local postgresql.parameters, pg_hba and pg_ident of a re-read configuration (the
    /// loop then finds pgha.conf stale and reloads Postgres). Returns the keys that changed.
    public func reloadLocal(from new: PostgresConfig) -> [String] {
        filesBox.update { f in
            var c = f.config
            var changed: [String] = []
            if c.postgres.parameters != new.parameters { changed.append("postgresql.parameters") }
            if c.postgres.pgHBA != new.pgHBA { changed.append("postgresql.pg_hba") }
            if c.postgres.pgIdent != new.pgIdent { changed.append("postgresql.pg_ident") }
            c.postgres.parameters = new.parameters
            c.postgres.pgHBA = new.pgHBA
            c.postgres.pgIdent = new.pgIdent
            f = PostgresFiles(config: c)
            return changed
        }
    }

    /// What the data directory says it runs as, when the agent has not started it itself.
    var knownRole: String { lastRole.get() ?? (files.hasStandbySignal ? "replica" : "primary") }

    /// The cluster-wide pg_hba lines of the `config` key (set by the action runner before each action).
    public let clusterHBA = Locked<[String]?>(nil)

    /// Writes the agent's files, saying once what the parameters' fit to this server changed.
    func writeFiles(dynamic: [String: String], upstream: UpstreamServer?, standby: Bool, recovery: [String: String] = [:]) throws {
        try files.write(dynamic: dynamic, upstream: upstream, standby: standby, clusterHBA: clusterHBA.get(), recovery: recovery)
        let warnings = files.fitted(dynamic: dynamic).warnings
        let changed = reportedFit.update { last in
            defer { last = warnings }
            return last != warnings
        }
        if changed { for w in warnings { warn("postgresql.parameters: \(w)") } }
    }

    func bin(_ name: String) -> String { pg.binDir + "/" + name }

    func check(_ what: String, _ r: CommandResult) throws {
        guard r.ok else { throw PostgresError("\(what) failed (exit \(r.status)): \(r.output.suffix(600))") }
    }

    // MARK: State

    /// Whether the postmaster in postmaster.pid is alive (what `pg_ctl status` checks).
    public var postmasterPID: Int32? {
        guard let text = try? String(contentsOfFile: files.dataDir + "/postmaster.pid", encoding: .utf8),
              let first = text.split(separator: "\n").first, let pid = Int32(first.trimmingSpaces()), pid > 0
        else { return nil }
        guard kill(pid, 0) == 0 || errno == EPERM else { return nil }
        // A SIGKILLed postmaster stays a zombie until its parent (us, as subreaper) reaps it: dead too.
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")"), stat[stat.index(after: close)...].trimmingSpaces().hasPrefix("Z") {
            var status: Int32 = 0
            waitpid(pid, &status, WNOHANG)
            return nil
        }
        return pid
    }

    public func probe() async -> LocalPostgres {
        var s = LocalPostgres()
        guard files.hasData else { return s }
        s.dataIdentity = files.dataIdentity
        s.hasStandbySignal = files.hasStandbySignal
        s.recoveryPending = files.hasRecoveryPending
        s.following = files.following()
        guard postmasterPID != nil else {
            s.run = .stopped
            let control = await controlData()
            s.controlState = control["Database cluster state"]
            s.systemIdentifier = control["Database system identifier"]
            return s
        }
        // A replica's timeline: its WAL receiver's, else the newest its control file knows. Right after
        // pg_rewind only min_recovery_end_timeline has the leader's timeline yet (the checkpoint is the
        // last common one): without it the rewound replica looked diverged and was rewound a second time.
        let sql = """
            SELECT pg_is_in_recovery() AS rec,
              CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint END AS w,
              pg_wal_lsn_diff(pg_last_wal_receive_lsn(), '0/0')::bigint AS rcv,
              pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint AS rpl,
              pg_last_xact_replay_timestamp()::text AS rts,
              CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END AS paused,
              CASE WHEN pg_is_in_recovery() THEN greatest((SELECT received_tli FROM pg_stat_wal_receiver), (SELECT timeline_id FROM pg_control_checkpoint()),
                                                           (SELECT min_recovery_end_timeline FROM pg_control_recovery()))
                   ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END AS tl,
              (SELECT status FROM pg_stat_wal_receiver) AS wr,
              (SELECT system_identifier FROM pg_control_system())::text AS sysid,
              (SELECT count(*) FROM pg_settings WHERE pending_restart) AS pending,
              pg_postmaster_start_time()::text AS started,
              current_setting('server_version_num') AS ver
            """
        do {
            let r = try await session.query(sql)
            s.run = .running
            s.inRecovery = r.value("rec") == "t"
            s.writeLSN = Int64(r.value("w") ?? "") ?? 0
            s.receivedLSN = Int64(r.value("rcv") ?? "") ?? 0
            s.replayedLSN = Int64(r.value("rpl") ?? "") ?? 0
            s.replayedTimestamp = r.value("rts")
            s.replayPaused = r.value("paused") == "t"
            s.timeline = Int(r.value("tl") ?? "") ?? 0
            s.streaming = r.value("wr") == "streaming"
            s.systemIdentifier = r.value("sysid")
            s.pendingRestart = (Int(r.value("pending") ?? "0") ?? 0) > 0
            s.postmasterStartTime = r.value("started")
            s.serverVersion = Int(r.value("ver") ?? "") ?? 0
        } catch {
            s.run = .starting  // postmaster alive but not accepting connections: recovery or shutdown
        }
        return s
    }

    /// pg_controldata's fields of a stopped data directory ("Database cluster state" → "shut down"); empty when it fails.
    func controlData() async -> [String: String] {
        let r = await Command.run(bin("pg_controldata"), ["-D", files.dataDir], environment: ["LC_ALL": "C"], timeout: 10)
        guard r.ok else { return [:] }
        var fields: [String: String] = [:]
        for line in r.output.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingSpaces()
        }
        return fields
    }

    public func query(_ sql: String, _ params: [String?] = []) async throws -> PGResult {
        try await session.query(sql, params)
    }

    /// Bytes of WAL this primary has that `member` has not yet written, from pg_stat_replication
    /// now (nil when it does not stream from us or we are not a running primary).
    public func replicationLag(of member: String) async -> Int64? {
        let r = try? await query("""
            SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), write_lsn)::bigint AS lag FROM pg_stat_replication
            WHERE application_name = $1 AND state = 'streaming' AND NOT pg_is_in_recovery()
            ORDER BY write_lsn DESC NULLS LAST LIMIT 1
            """, [member])
        return r?.value("lag").flatMap { Int64($0) }
    }

    // MARK: Lifecycle

    public func initdb(extraOptions: [String]) async throws {
        try files.makeParentDirectory()
        let pwfile = files.dataDir + ".pwfile"
        try atomicWrite(pwfile, (pg.superuser.password ?? "") + "\n")
        defer { try? FileManager.default.removeItem(atPath: pwfile) }
        var args = ["-D", files.dataDir, "-U", pg.superuser.username, "--auth-local=trust", "--auth-host=scram-sha-256"]
        if pg.superuser.password != nil { args.append("--pwfile=\(pwfile)") }
        try check("initdb", await Command.run(bin("initdb"), args + extraOptions, timeout: 120))
        try files.writeDataIdentity(madeBy: "initdb")
    }

    /// Patroni's custom bootstrap: the method's command makes the data directory (a restore).
    public func customBootstrap(_ m: BootstrapMethod) async throws {
        try files.makeParentDirectory()
        let what = "bootstrap.method \(m.name) (\(m.command))"
        guard let words = CallbackRule.words(m.command), let program = words.first else { throw PostgresError("\(what): cannot split the command") }
        let r = await Command.run(program, Array(words.dropFirst()) + m.arguments(scope: files.config.scope, dataDir: files.dataDir), environment: env, timeout: 3600)
        try check(what, r)
        guard files.hasData else { throw PostgresError("\(what) succeeded but left no data directory in \(files.dataDir)") }
        _ = chmod(files.dataDir, 0o700)
        try files.writeDataIdentity(madeBy: "bootstrap.method \(m.name)")
    }

    /// Writes the agent's files and starts the postmaster without waiting (the loop watches it come up).
    /// `recovery`: a bootstrap method's recovery — nil: none (recovery.signal removed); empty: keep
    /// the signal files and settings the method wrote; settings: written, with recovery.signal.
    public func start(dynamic: [String: String], upstream: UpstreamServer?, standby: Bool, recovery: [String: String]? = nil) async throws {
        try writeFiles(dynamic: dynamic, upstream: upstream, standby: standby, recovery: recovery ?? [:])
        if recovery?.isEmpty != true {
            let removed = try files.sanitizeAutoConf()
            if !removed.isEmpty {
                warn("postgresql.auto.conf: removed \(removed.joined(separator: ", ")) (recovery settings are this member's, written by pgha to pgha.conf; "
                     + "left in postgresql.auto.conf they would override them)")
            }
        }
        let signal = files.dataDir + "/recovery.signal"
        if recovery == nil { try? FileManager.default.removeItem(atPath: signal) }
        else if recovery?.isEmpty == false { FileManager.default.createFile(atPath: signal, contents: Data()) }
        await session.close()
        try check("pg_ctl start", await Command.run(bin("pg_ctl"), ["start", "-D", files.dataDir, "-l", files.logPath, "-W", "-s"], timeout: 30))
        // pg_ctl -W returns before the postmaster writes postmaster.pid; until it does, a probe would
        // mistake a starting server for a stopped one.
        for _ in 0..<100 where postmasterPID == nil { try await Task.sleep(nanoseconds: 50_000_000) }
        guard postmasterPID != nil else { throw PostgresError("Postgres did not start; see \(files.logPath)") }
        let (action, role) = CallbackRule.afterStart(standby: standby, lastRole: lastRole.get(), restarting: restarting.get())
        restarting.set(false)
        lastRole.set(role)
        callbacks?.fire(action, role: role)
    }

    /// `restart`: the first half of a restart (no on_stop; the next start fires on_restart).
    public func stop(_ mode: StopMode, timeout: Double = 30, restart: Bool = false) async throws {
        await session.close()
        guard postmasterPID != nil else { return }
        let role = knownRole
        lastRole.set(role)
        let r = await Command.run(bin("pg_ctl"), ["stop", "-D", files.dataDir, "-m", mode.rawValue, "-w", "-t", "\(Int(timeout))", "-s"], timeout: timeout + 5)
        if !r.ok && postmasterPID != nil { throw PostgresError("pg_ctl stop -m \(mode.rawValue) failed: \(r.output.suffix(400))") }
        if restart { restarting.set(true) } else { callbacks?.fire(.onStop, role: role) }
    }

    public func promote(dynamic: [String: String]) async throws {
        try writeFiles(dynamic: dynamic, upstream: nil, standby: true)  // keep standby.signal until promote removes it
        try check("pg_ctl promote", await Command.run(bin("pg_ctl"), ["promote", "-D", files.dataDir, "-w", "-t", "30", "-s"], timeout: 40))
        lastRole.set("primary")
        callbacks?.fire(.onRoleChange, role: "primary")
    }

    /// Points a replica at a new upstream (primary_conninfo reloads without restart since PG 13).
    public func follow(dynamic: [String: String], upstream: UpstreamServer?) async throws {
        try reload(dynamic: dynamic, upstream: upstream, standby: true)
    }

    /// Rewrites the files and SIGHUPs the postmaster (works while it is still starting up, unlike
    /// pg_reload_conf(), which needs a connection).
    /// `announce`: a configuration reload (on_reload), not a replica pointed elsewhere.
    public func reload(dynamic: [String: String], upstream: UpstreamServer?, standby: Bool, announce: Bool = false) throws {
        try writeFiles(dynamic: dynamic, upstream: upstream, standby: standby)
        guard let pid = postmasterPID, kill(pid, SIGHUP) == 0 else { throw PostgresError("cannot signal the postmaster to reload") }
        if announce { callbacks?.fire(.onReload, role: knownRole) }
    }

    /// Whether a pg_rewind / pg_basebackup failure says the source server could not be reached.
    static func sourceUnreachable(_ message: String) -> Bool {
        ["connection to server", "could not connect", "Connection refused", "timeout expired", "No route to host"].contains { message.contains($0) }
    }

    /// Rewinds a former primary onto the leader's timeline. pg_rewind (PG 13+) first finishes crash
    /// recovery itself when the server was not shut down cleanly.
    /// Returns pg_rewind's last line ("Done!", "no rewind required").
    @discardableResult
    public func rewind(from upstream: UpstreamServer, dynamic: [String: String]) async throws -> String {
        // The crash recovery pg_rewind runs first must use the cluster's settings: a standby refuses
        // to start if its last primary run had, say, more max_connections than it has now.
        try writeFiles(dynamic: dynamic, upstream: nil, standby: false)
        let rewinder = pg.rewind ?? pg.superuser
        let source = "\(upstream.conninfo) user=\(rewinder.username) dbname=postgres passfile=\(pg.pgpass) connect_timeout=3" + rewinder.conninfoSuffix
        // pg_rewind copies the source's files, its identity file too: a rewound directory keeps its own.
        let identity = files.dataIdentity
        let r = await Command.run(bin("pg_rewind"), ["-D", files.dataDir, "--source-server=\(source)", "--no-sync"], environment: env, timeout: 600)
        if let identity { try? atomicWrite(files.dataIdentityFile, identity + "\n") }
        try check("pg_rewind from \(upstream.name)", r)
        return r.output.split(separator: "\n").last.map(String.init) ?? ""
    }

    // MARK: Primary duties

    public func createRoles() async throws {
        let su = pg.superuser, repl = pg.replication
        if let pw = su.password {
            _ = try await session.query("ALTER ROLE \(ident(su.username)) WITH PASSWORD \(literal(pw))")
        }
        let exists = try await session.query("SELECT 1 AS x FROM pg_roles WHERE rolname = $1", [repl.username])
        let verb = exists.rows.isEmpty ? "CREATE" : "ALTER"
        _ = try await session.query("\(verb) ROLE \(ident(repl.username)) WITH LOGIN REPLICATION PASSWORD \(literal(repl.password ?? ""))")
        if let rw = pg.rewind, rw.username != su.username {
            let has = try await session.query("SELECT 1 AS x FROM pg_roles WHERE rolname = $1", [rw.username])
            _ = try await session.query("\(has.rows.isEmpty ? "CREATE" : "ALTER") ROLE \(ident(rw.username)) WITH LOGIN PASSWORD \(literal(rw.password ?? ""))")
            // What pg_rewind needs of a non-superuser source connection (its documentation's list).
            for fn in ["pg_ls_dir(text, boolean, boolean)", "pg_stat_file(text, boolean)", "pg_read_binary_file(text)",
                       "pg_read_binary_file(text, bigint, bigint, boolean)"] {
                _ = try await session.query("GRANT EXECUTE ON FUNCTION pg_catalog.\(fn) TO \(ident(rw.username))")
            }
        }
    }

    /// bootstrap.post_bootstrap: the command with the superuser's connection URL (over the local
    /// socket when use_unix_socket, else TCP to the listen address); PGPASSFILE holds the password.
    public func runPostBootstrap(_ command: String) async throws {
        guard let words = CallbackRule.words(command), let program = words.first else { throw PostgresError("bootstrap.post_bootstrap: cannot split \(command)") }
        let r = await Command.run(program, Array(words.dropFirst()) + [postBootstrapURL], environment: env, timeout: 600)
        try check("bootstrap.post_bootstrap \(command)", r)
    }

    /// postgres://user@host:port/postgres, a socket directory percent-encoded as libpq reads it.
    public var postBootstrapURL: String {
        let host = pg.useUnixSocket ? files.socketDir : (pg.listen.host == "0.0.0.0" ? "127.0.0.1" : pg.listen.host)
        func enc(_ s: String) -> String { percentEncoded(s, keeping: "-._~") }
        return "postgres://\(enc(pg.superuser.username))@\(enc(host)):\(pg.listen.port)/postgres"
    }

    /// Keeps one physical slot per other member; drops inactive slots of members that are gone.
    public func maintainSlots(for members: [String]) async throws {
        let wanted = Set(members.map(PostgresFiles.slotName))
        let r = try await session.query("SELECT slot_name, active::text FROM pg_replication_slots WHERE slot_type = 'physical'")
        let have = Set(r.rows.compactMap { $0[0] })
        for slot in wanted.subtracting(have) {
            _ = try await session.query("SELECT pg_create_physical_replication_slot($1, true)", [slot])
        }
        for row in r.rows where !wanted.contains(row[0] ?? "") && row[1] == "false" {
            _ = try await session.query("SELECT pg_drop_replication_slot($1)", [row[0]])
        }
    }

    /// The switch point of the newest timeline from its .history file: (previous timeline, lsn).
    public func lastTimelineSwitch(timeline: Int) -> (Int, Int64)? {
        let path = files.dataDir + "/pg_wal/" + formatted("%08X.history", UInt32(truncatingIfNeeded: timeline))
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), let last = HistoryEntry.parseHistoryFile(text).last else { return nil }
        return (last.timeline, last.lsn)
    }

    /// Every timeline switch the newest `pg_wal/*.history` file lists, as Patroni records a taken-over
    /// server's history: `[timeline, lsn, reason]`, the last switch with the file's time and this
    /// member as the new leader. Empty on timeline 1 (no history file).
    public func timelineHistory() -> [HistoryEntry] {
        let walDir = files.dataDir + "/pg_wal"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: walDir)) ?? []
        let newest = names.compactMap { n -> (Int, String)? in
            guard n.count == 16, n.hasSuffix(".history"), let tl = Int(n.prefix(8), radix: 16) else { return nil }
            return (tl, n)
        }.max { $0.0 < $1.0 }
        guard let (timeline, name) = newest, let text = try? String(contentsOfFile: walDir + "/" + name, encoding: .utf8) else { return [] }
        var entries = HistoryEntry.parseHistoryFile(text)
        if let last = entries.indices.last, entries[last].timeline == timeline - 1 {
            let modified = (try? FileManager.default.attributesOfItem(atPath: walDir + "/" + name))?[.modificationDate] as? Date
            entries[last].timestamp = iso8601(modified ?? Date())
            entries[last].newLeader = files.config.name
        }
        return entries
    }

    func ident(_ s: String) -> String { "\"" + s.replacing("\"", with: "\"\"") + "\"" }
    func literal(_ s: String) -> String { "'" + s.replacing("'", with: "''") + "'" }
}

/// "16/B374D848" → byte position.
public func parseLSN(_ s: String) -> Int64? {
    let parts = s.split(separator: "/")
    guard parts.count == 2, let hi = UInt64(parts[0], radix: 16), let lo = UInt64(parts[1], radix: 16) else { return nil }
    return Int64(bitPattern: hi << 32 | lo)
}
