// Patroni's rules as pure functions, as tables: parameters fitted to the server's own list, renamed
// parameters by major version, edit-config refusals, timing adjusted instead of refused.
import AgentCore
import Foundation
import Testing

@Suite struct PatroniRulesTests {
    /// A server as `postgres --describe-config` describes it (a few lines of PG 15's real output).
    static let pg15 = ServerParameters.parse(
        version: "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n",
        describeConfig: """
        hot_standby\tpostmaster\tReplication / Standby Servers\tBOOLEAN\tFALSE\t\t\tAllows connections and queries during recovery.\t
        checkpoint_completion_target\tsighup\tWrite-Ahead Log / Checkpoints\tREAL\t0\t0\t1\tTime spent flushing dirty buffers during checkpoint.\t
        wal_keep_size\tsighup\tReplication / Sending Servers\tINTEGER\t0\t0\t2147483647\tSets the size of WAL files held for standby servers.\t
        max_connections\tpostmaster\tConnections and Authentication / Connection Settings\tINTEGER\t100\t1\t262143\tSets the maximum number of concurrent connections.\t
        work_mem\tuser\tResource Usage / Memory\tINTEGER\t4096\t64\t2147483647\tSets the maximum memory to be used for query workspaces.\t
        shared_buffers\tpostmaster\tResource Usage / Memory\tINTEGER\t1024\t16\t1073741823\tSets the number of shared memory buffers used by the server.\t
        """)!
    static let pg12 = ServerParameters(major: 12, contexts: ["wal_keep_segments": "sighup", "work_mem": "user"])

    @Test func describeConfigIsRead() {
        #expect(Self.pg15.major == 15)
        #expect(Self.pg15.knows("WORK_MEM") && !Self.pg15.knows("wal_keep_segments"))
        #expect(Self.pg15.needsRestart("max_connections") && !Self.pg15.needsRestart("work_mem"))
        #expect(Self.pg15.knows("pg_stat_statements.max"))  // extension parameters: any dotted name
        #expect(ServerParameters.parse(version: "postgres (PostgreSQL) 9.6.24", describeConfig: "a\tuser\n")?.major == 96)
        #expect(ServerParameters.parse(version: "bash: no such file", describeConfig: "a\tuser\n") == nil)
    }

    struct FitCase: CustomTestStringConvertible, Sendable {
        var given: [String: String]
        var server: ServerParameters?
        var written: [String: String]
        var unknown: [String]
        var warning: String?
        var testDescription: String { "\(given) → \(written)" }
    }

    static let fits: [FitCase] = [
        // Renamed in 13: segments × 16 MB.
        .init(given: ["wal_keep_segments": "100"], server: pg15, written: ["wal_keep_size": "1600MB"], unknown: [],
              warning: "wal_keep_segments = 100 written as wal_keep_size = 1600MB (renamed in PostgreSQL 13)"),
        // Both given: the new name wins, the old one is said to be left out.
        .init(given: ["wal_keep_segments": "100", "wal_keep_size": "1GB"], server: pg15, written: ["wal_keep_size": "1GB"], unknown: [],
              warning: "wal_keep_segments = 100 left out: wal_keep_size = 1GB is given too"),
        // An older server gets the old name back (rounded up to whole segments).
        .init(given: ["wal_keep_size": "1GB"], server: pg12, written: ["wal_keep_segments": "64"], unknown: [], warning: "written as wal_keep_segments = 64"),
        .init(given: ["wal_keep_size": "20MB"], server: pg12, written: ["wal_keep_segments": "2"], unknown: [], warning: nil),
        .init(given: ["wal_keep_segments": "lots"], server: pg15, written: [:], unknown: [], warning: "not a value wal_keep_size can take"),
        // Unknown names left out and named; extension parameters and known ones kept.
        .init(given: ["stats_temp_directory": "/run/x", "work_mem": "8MB", "pg_stat_statements.max": "5000", "no_such_thing": "1"],
              server: pg15, written: ["work_mem": "8MB", "pg_stat_statements.max": "5000"], unknown: ["no_such_thing", "stats_temp_directory"],
              warning: "parameters unknown to this server left out: no_such_thing, stats_temp_directory"),
        // A server that could not be asked: everything as given.
        .init(given: ["wal_keep_segments": "100", "x": "1"], server: nil, written: ["wal_keep_segments": "100", "x": "1"], unknown: [], warning: nil),
    ]

    @Test(arguments: fits) func parametersFitTheServer(_ c: FitCase) {
        let fit = ParameterFit.fit(c.given, to: c.server)
        #expect(fit.parameters == c.written)
        #expect(fit.unknown == c.unknown)
        if let w = c.warning { #expect(fit.warnings.contains { $0.contains(w) }, "\(fit.warnings)") }
    }

    @Test(arguments: [
        ("max_connections", "200", nil), ("max_connections", "0", "below the minimum 1"), ("max_connections", "lots", "expected a number"),
        ("max_connections", "1.5", "expected an integer"), ("shared_buffers", "128MB", nil), ("shared_buffers", "128 MB", nil),
        ("shared_buffers", "1XB", "unknown unit XB"), ("hot_standby", "on", nil), ("hot_standby", "'off'", nil), ("hot_standby", "t", nil),
        ("hot_standby", "1", nil), ("hot_standby", "maybe", "expected on or off"), ("checkpoint_completion_target", "0.9", nil),
        ("checkpoint_completion_target", "2", "above the maximum 1"), ("max_connections", "0x10", nil), ("pg_stat_statements.max", "x", nil),
    ] as [(String, String, String?)])
    func valuesPostgresWouldRefuseAreNamed(_ c: (String, String, String?)) {
        let why = ParameterFit.valueProblem(c.0, c.1, server: Self.pg15)
        if let expected = c.2 { #expect(why?.contains(expected) == true, "\(why ?? "nil")") } else { #expect(why == nil, "\(why ?? "")") }
    }

    @Test func invalidValuesAreLeftOutAndRefusedInAnEdit() {
        let fit = ParameterFit.fit(["max_connections": "lots", "work_mem": "8MB"], to: Self.pg15)
        #expect(fit.parameters == ["work_mem": "8MB"])
        #expect(fit.warnings.contains { $0.contains("max_connections = lots: expected a number") }, "\(fit.warnings)")
        let problem = ConfigEdit.problem(["postgresql": ["parameters": ["max_connections": 0]]], server: Self.pg15)
        #expect(problem?.contains("postgresql.parameters.max_connections: 0 is below the minimum 1") == true, "\(problem ?? "nil")")
    }

    @Test func editConfigRefusesWhatTheServerDoesNotKnow() {
        let set = { (name: String) -> [String: Any] in ["postgresql": ["parameters": [name: "1MB"]]] }
        let problem = ConfigEdit.problem(set("stats_temp_directory"), server: Self.pg15)
        #expect(problem?.contains("postgresql.parameters.stats_temp_directory: unknown to PostgreSQL 15") == true, "\(problem ?? "nil")")
        #expect(ConfigEdit.problem(set("work_mem"), server: Self.pg15) == nil)
        #expect(ConfigEdit.problem(set("wal_keep_segments"), server: Self.pg15) == nil)  // mapped when written
        #expect(ConfigEdit.problem(set("stats_temp_directory"), server: nil) == nil)    // no server here to ask
        // Already in the key before this edit: not the edit's fault, not refused again.
        #expect(ConfigEdit.problem(set("stats_temp_directory"), before: set("stats_temp_directory"), server: Self.pg15) == nil)
    }

    @Test func editConfigSaysWhichChangesNeedARestart() {
        let with = { (p: [String: Any]) -> [String: Any] in ["postgresql": ["parameters": p]] }
        let note = ConfigEdit.restartNote(before: with(["max_connections": 100, "work_mem": "4MB"]),
                                          after: with(["max_connections": 200, "work_mem": "8MB", "shared_buffers": "1GB"]), server: Self.pg15)
        #expect(note?.hasPrefix("max_connections, shared_buffers take effect after a restart") == true, "\(note ?? "nil")")
        #expect(ConfigEdit.restartNote(before: [:], after: with(["work_mem": "8MB"]), server: Self.pg15) == nil)
    }

    struct TimingCase: CustomTestStringConvertible, Sendable {
        var ttl: Double, loopWait: Double, retryTimeout: Double
        var used: (Double, Double, Double)
        var testDescription: String { "ttl \(ttl) loop_wait \(loopWait) retry_timeout \(retryTimeout)" }
    }

    static let timings: [TimingCase] = [
        .init(ttl: 30, loopWait: 10, retryTimeout: 10, used: (30, 10, 10)),   // Patroni's defaults: as given
        .init(ttl: 6, loopWait: 1, retryTimeout: 2.5, used: (6, 1, 2.5)),     // ours: as given
        .init(ttl: 20, loopWait: 2, retryTimeout: 10, used: (20, 1, 9.5)),    // the issue's PATCH: loop_wait to 1 s, then retry_timeout
        .init(ttl: 30, loopWait: 10, retryTimeout: 12, used: (30, 6, 12)),    // loop_wait alone is enough
        .init(ttl: 6, loopWait: 0.5, retryTimeout: 3, used: (6, 0.5, 2.75)),  // a loop_wait below 1 s is kept
        .init(ttl: 1, loopWait: 1, retryTimeout: 1, used: (2, 1, 0.5)),       // ttl raised to etcd's minimum lease
    ]

    @Test(arguments: timings) func unsafeTimingIsAdjustedAsPatroniDoes(_ c: TimingCase) {
        var t = Timing()
        t.ttl = c.ttl; t.loopWait = c.loopWait; t.retryTimeout = c.retryTimeout
        let (used, note) = t.adjusted
        #expect((used.ttl, used.loopWait, used.retryTimeout) == c.used)
        #expect(used.violation == nil)
        #expect((note == nil) == (t.violation == nil), "\(note ?? "nil")")
    }

    @Test(arguments: [
        ("/usr/local/bin/cb", ["/usr/local/bin/cb"]),
        ("/bin/sh -c 'echo $1'", ["/bin/sh", "-c", "echo $1"]),
        (#"/x "a b" c\ d"#, ["/x", "a b", "c d"]),
        ("  /x   y  ", ["/x", "y"]),
        ("/x ''", ["/x", ""]),
    ])
    func callbackCommandsSplitAsAShellWould(_ c: (String, [String])) {
        #expect(CallbackRule.words(c.0) == c.1)
    }

    @Test func unterminatedQuoteIsNoCommand() {
        #expect(CallbackRule.words("/x 'open") == nil)
    }

    @Test(arguments: [
        // (standby, last role, restarting) → (action, role)
        (false, nil, false, CallbackAction.onStart, "primary"),
        (true, nil, false, .onStart, "replica"),
        (true, "replica", false, .onStart, "replica"),
        (true, "primary", false, .onRoleChange, "replica"),   // a former primary rejoining
        (false, "replica", false, .onRoleChange, "primary"),
        (false, "primary", true, .onRestart, "primary"),
    ] as [(Bool, String?, Bool, CallbackAction, String)])
    func startFiresPatronisCallback(_ c: (Bool, String?, Bool, CallbackAction, String)) {
        let (action, role) = CallbackRule.afterStart(standby: c.0, lastRole: c.1, restarting: c.2)
        #expect(action == c.3 && role == c.4)
    }
}
