// The HA decision as a table: no etcd, no Postgres, no clock — inputs in, actions out.
import AgentCore
import Testing

struct DecisionCase: CustomStringConvertible, Sendable {
    var description: String
    var input: DecisionInput
    var expected: [HAAction]
    var says: String
}

func primary(lsn: Int64 = 5000, timeline: Int = 1) -> LocalPostgres {
    var l = LocalPostgres(); l.run = .running; l.inRecovery = false; l.writeLSN = lsn; l.timeline = timeline; return l
}
func replica(lsn: Int64 = 5000, following: String? = "n1", timeline: Int = 1) -> LocalPostgres {
    var l = LocalPostgres(); l.run = .running; l.inRecovery = true; l.receivedLSN = lsn; l.replayedLSN = lsn
    l.following = following; l.streaming = true; l.timeline = timeline; l.hasStandbySignal = true; return l
}
func stopped(controlState: String?, standby: Bool = false) -> LocalPostgres {
    var l = LocalPostgres(); l.run = .stopped; l.controlState = controlState; l.hasStandbySignal = standby; return l
}
func view(leader: String?, optime: Int64? = 5000) -> ClusterView {
    var v = ClusterView()
    v.initialize = "7300000000000000001"
    v.leader = leader
    v.leaderOptime = optime
    for n in ["n1", "n2", "n3"] {
        var m = MemberInfo(name: n); m.state = "running"; m.connURL = "postgres://127.0.0.1:5432/postgres"; v.members.append(m)
    }
    return v
}
func input(_ me: String, _ cluster: ClusterView?, _ local: LocalPostgres, now: Double = 100, renewed: Double? = 99.5,
           _ tweak: (inout DecisionInput) -> Void = { _ in }) -> DecisionInput {
    var i = DecisionInput(now: now, me: me)
    i.cluster = cluster; i.local = local; i.lastRenewal = renewed
    tweak(&i)
    return i
}
func peer(_ name: String, lsn: Int64, primary: Bool = false, priority: Int = 1, nofailover: Bool = false) -> PeerStatus {
    PeerStatus(name: name, isPrimary: primary, lsn: lsn, timeline: 1, nofailover: nofailover, failoverPriority: priority)
}

/// n2 leads on timeline 2, forked off timeline 1 at `lsn` (the history key says so).
func forked(_ v: ClusterView, at lsn: Int64) -> ClusterView {
    var v = v
    v.members[1].timeline = 2
    v.history = [HistoryEntry(timeline: 1, lsn: lsn, reason: "no recovery target specified", timestamp: "2026-11-22T00:00:00Z", newLeader: "n2")]
    return v
}
/// Read-only on timeline 1 with local WAL replayed to `replayed` and no upstream streaming.
func demoted(replayed: Int64) -> LocalPostgres {
    var l = LocalPostgres(); l.run = .running; l.inRecovery = true; l.replayedLSN = replayed; l.receivedLSN = 0
    l.streaming = false; l.timeline = 1; l.hasStandbySignal = true; return l
}

/// A data directory not made by pgha (a standalone Postgres), with its system identifier.
func existing(_ l: LocalPostgres, sysid: String? = "7400000000000000042", recoveryPending: Bool = false) -> LocalPostgres {
    var l = l; l.systemIdentifier = sysid; l.recoveryPending = recoveryPending; l.following = nil; return l
}
let uninitialized: ClusterView = { var v = ClusterView(); v.initialize = nil; return v }()

let noDevice = "watchdog required but /dev/watchdog does not exist"
let promoteSelf: [HAAction] = [.acquireLeader, .promote, .maintainSlots, .publishStatus]

let decisionTable: [DecisionCase] = [
    // The leader with a running primary renews (the loop's keepalive) and does its duties.
    DecisionCase(description: "leader renews", input: input("n1", view(leader: "n1"), primary()),
                 expected: [.maintainSlots, .publishStatus], says: "I am the leader with the lock"),
    // etcd unreachable: keep serving while the lease surely holds, demote before it can lapse.
    DecisionCase(description: "leader loses etcd briefly", input: input("n1", nil, primary(), now: 102, renewed: 100),
                 expected: [], says: "still primary"),
    DecisionCase(description: "leader loses etcd: demotes before lease expiry", input: input("n1", nil, primary(), now: 103.6, renewed: 100),
                 expected: [.stop(.fast), .start(primary: false, upstream: nil)], says: "demoting: lost the leader lease"),
    // The loop wakes exactly at the deadline (loop_wait 1 + retry_timeout 2.5 after the renewal).
    DecisionCase(description: "leader loses etcd: demotes at the deadline itself", input: input("n1", nil, primary(), now: 103.5, renewed: 100),
                 expected: [.stop(.fast), .start(primary: false, upstream: nil)], says: "demoting: lost the leader lease"),
    DecisionCase(description: "replica with etcd gone stays", input: input("n2", nil, replica(), now: 200, renewed: 100),
                 expected: [], says: "etcd unreachable"),
    // No leader: the healthiest races; the others wait.
    DecisionCase(description: "no leader, healthiest replica promotes",
                 input: input("n2", view(leader: nil), replica(lsn: 5000)) { $0.peers = [peer("n3", lsn: 4900)] },
                 expected: promoteSelf, says: "promoted self to leader by acquiring session lock"),
    DecisionCase(description: "no leader, a peer has more WAL",
                 input: input("n2", view(leader: nil), replica(lsn: 4900)) { $0.peers = [peer("n3", lsn: 5000)] },
                 expected: [], says: "n3 has more WAL"),
    DecisionCase(description: "no leader, old primary still answers as primary",
                 input: input("n2", view(leader: nil), replica()) { $0.peers = [peer("n1", lsn: 5000, primary: true)] },
                 expected: [], says: "n1 still runs as primary"),
    DecisionCase(description: "no leader, equal WAL, peer has higher priority",
                 input: input("n2", view(leader: nil), replica()) { $0.peers = [peer("n3", lsn: 5000, priority: 5)] },
                 expected: [], says: "higher failover_priority"),
    DecisionCase(description: "no leader, peer ahead but nofailover is ignored",
                 input: input("n2", view(leader: nil), replica(lsn: 4000, timeline: 1)) { $0.peers = [peer("n3", lsn: 5000, nofailover: true)]; $0.cluster?.leaderOptime = 4500 },
                 expected: promoteSelf, says: "promoted self"),
    DecisionCase(description: "lagging replica stays out",
                 input: input("n2", view(leader: nil, optime: 10_000_000), replica(lsn: 1000)),
                 expected: [], says: "bytes behind the last leader position"),
    DecisionCase(description: "nofailover never races",
                 input: input("n2", view(leader: nil), replica()) { $0.tags.nofailover = true },
                 expected: [], says: "not racing for the lock: nofailover"),
    DecisionCase(description: "failover_priority 0 never races",
                 input: input("n2", view(leader: nil), replica()) { $0.tags.failoverPriority = 0 },
                 expected: [], says: "nofailover / failover_priority 0"),
    DecisionCase(description: "no leader and running primary takes the key",
                 input: input("n1", view(leader: nil), primary()),
                 expected: [.acquireLeader, .maintainSlots, .publishStatus], says: "taking the leader lock as the running primary"),
    // Someone else leads.
    DecisionCase(description: "replica streams from leader", input: input("n2", view(leader: "n1"), replica()),
                 expected: [], says: "streaming from leader n1"),
    DecisionCase(description: "replica follows a new leader", input: input("n2", view(leader: "n3"), replica(following: "n1")),
                 expected: [.follow(upstream: "n3")], says: "following new leader n3"),
    DecisionCase(description: "primary without the key demotes at once", input: input("n1", view(leader: "n2"), primary()),
                 expected: [.stop(.immediate)], says: "demoting: n2 holds the leader lock"),
    DecisionCase(description: "former primary rejoins with pg_rewind", input: input("n1", view(leader: "n2"), stopped(controlState: "in production")),
                 expected: [.rewind(from: "n2"), .start(primary: false, upstream: "n2")], says: "pg_rewind, then replica"),
    DecisionCase(description: "former primary re-clones when rewind failed",
                 input: input("n1", view(leader: "n2"), stopped(controlState: "shut down")) { $0.rewindFailed = true },
                 expected: [.clone(from: "n2"), .start(primary: false, upstream: "n2")], says: "pg_rewind failed, re-cloning"),
    // A primary demoted read-only while cut off from etcd wrote WAL (its shutdown checkpoint at
    // least) past the point where n2 was promoted: following would never stream; it rewinds.
    DecisionCase(description: "demoted primary diverged past the fork rewinds",
                 input: input("n1", forked(view(leader: "n2"), at: 5000), demoted(replayed: 5120)),
                 expected: [.stop(.fast), .rewind(from: "n2"), .start(primary: false, upstream: "n2")], says: "diverged: my WAL on timeline 1 goes to 5120, past the fork to timeline 2 at 5000"),
    DecisionCase(description: "diverged replica re-clones when rewind failed",
                 input: input("n1", forked(view(leader: "n2"), at: 5000), demoted(replayed: 5120)) { $0.rewindFailed = true },
                 expected: [.stop(.fast), .clone(from: "n2"), .start(primary: false, upstream: "n2")], says: "pg_rewind failed, re-cloning"),
    DecisionCase(description: "replica level with the fork follows the new timeline",
                 input: input("n3", forked(view(leader: "n2"), at: 5000), demoted(replayed: 5000)),
                 expected: [.follow(upstream: "n2")], says: "following new leader n2"),
    DecisionCase(description: "replica already streaming on the new timeline is left alone",
                 input: input("n3", forked(view(leader: "n2"), at: 5000), replica(lsn: 9000, following: "n2", timeline: 2)),
                 expected: [], says: "streaming from leader n2"),
    DecisionCase(description: "no history entry for my timeline yet: follow, judged again next loop",
                 input: input("n1", { var v = forked(view(leader: "n2"), at: 5000); v.history = []; return v }(), demoted(replayed: 5120)),
                 expected: [.follow(upstream: "n2")], says: "following new leader n2"),
    DecisionCase(description: "former primary re-clones when rewind is off",
                 input: input("n1", view(leader: "n2"), stopped(controlState: "shut down")) { $0.usePgRewind = false },
                 expected: [.clone(from: "n2"), .start(primary: false, upstream: "n2")], says: "use_pg_rewind is off"),
    DecisionCase(description: "stopped replica starts following", input: input("n3", view(leader: "n2"), stopped(controlState: "shut down in recovery", standby: true)),
                 expected: [.start(primary: false, upstream: "n2")], says: "starting as a replica of n2"),
    DecisionCase(description: "empty member clones from the leader", input: input("n3", view(leader: "n1"), LocalPostgres()),
                 expected: [.clone(from: "n1"), .start(primary: false, upstream: "n1")], says: "cloning from leader n1"),
    // Postgres crashed under a live agent.
    DecisionCase(description: "crashed primary restarts in place",
                 input: input("n1", view(leader: "n1"), stopped(controlState: "in production"), now: 100) { $0.postgresDownSince = 99 },
                 expected: [.start(primary: true, upstream: nil)], says: "restarting crashed Postgres in place"),
    DecisionCase(description: "crashed primary still recovering waits",
                 input: input("n1", view(leader: "n1"), { var l = LocalPostgres(); l.run = .starting; return l }(), now: 100) { $0.postgresDownSince = 97 },
                 expected: [], says: "Postgres is starting"),
    DecisionCase(description: "crashed primary hands over after the bound",
                 input: input("n1", view(leader: "n1"), stopped(controlState: "in production"), now: 100) { $0.postgresDownSince = 85 },
                 expected: [.stop(.immediate), .releaseLeader], says: "releasing the leader lock: Postgres did not come back"),
    DecisionCase(description: "leader whose Postgres is a replica promotes", input: input("n1", view(leader: "n1"), replica()),
                 expected: [.promote, .maintainSlots, .publishStatus], says: "promoting: I hold the leader lock"),
    // Bootstrap race: every empty member races for initialize; losers wait for a leader.
    DecisionCase(description: "bootstrap race: empty cluster",
                 input: input("n2", { var v = ClusterView(); v.initialize = nil; return v }(), LocalPostgres()),
                 expected: [.claimInitialize, .bootstrap], says: "racing to initialize"),
    // Taking over an existing Postgres (Patroni's "convert a standalone"): no initialize key, data here.
    DecisionCase(description: "takeover: a running primary is adopted as leader",
                 input: input("n1", uninitialized, existing(primary())),
                 expected: [.takeOver], says: "taking over the running primary (system identifier 7400000000000000042)"),
    DecisionCase(description: "takeover: a cleanly stopped primary is started as primary",
                 input: input("n1", uninitialized, existing(stopped(controlState: "shut down"))),
                 expected: [.takeOver], says: "starting it as primary"),
    DecisionCase(description: "takeover: a crashed primary is started as primary (crash recovery)",
                 input: input("n1", uninitialized, existing(stopped(controlState: "in production"))),
                 expected: [.takeOver], says: "starting it as primary"),
    DecisionCase(description: "takeover: a restored backup (recovery.signal / backup_label) claims initialize, then races as a replica",
                 input: input("n1", uninitialized, existing(stopped(controlState: "in production"), recoveryPending: true)),
                 expected: [.claimExisting], says: "which is in recovery"),
    DecisionCase(description: "takeover: a stopped standby claims initialize, then races as a replica",
                 input: input("n1", uninitialized, existing(stopped(controlState: "shut down in recovery", standby: true))),
                 expected: [.claimExisting], says: "which is in recovery"),
    DecisionCase(description: "takeover: a running replica claims initialize, then races",
                 input: input("n1", uninitialized, existing(replica(following: nil))),
                 expected: [.claimExisting], says: "claiming it for my data directory"),
    DecisionCase(description: "takeover: no readable system identifier, nothing taken",
                 input: input("n1", uninitialized, existing(stopped(controlState: nil), sysid: nil)),
                 expected: [], says: "no readable system identifier"),
    DecisionCase(description: "takeover: Postgres still starting, wait",
                 input: input("n1", uninitialized, { var l = LocalPostgres(); l.run = .starting; return l }()),
                 expected: [], says: "Postgres is starting"),
    DecisionCase(description: "takeover: nofailover member does not take over",
                 input: input("n1", uninitialized, existing(primary())) { $0.tags.nofailover = true },
                 expected: [], says: "not taking over my data directory (system identifier 7400000000000000042): nofailover"),
    DecisionCase(description: "takeover: watchdog required but unusable, not taken",
                 input: input("n1", uninitialized, existing(primary())) { $0.watchdogProblem = noDevice },
                 expected: [], says: "not taking over my data directory: watchdog required"),
    DecisionCase(description: "data of another cluster: running server stopped, not joining",
                 input: input("n3", view(leader: "n1"), existing(replica(), sysid: "7499999999999999999")),
                 expected: [.stop(.fast)], says: "belongs to another cluster (system identifier 7499999999999999999, initialize is 7300000000000000001)"),
    DecisionCase(description: "data of another cluster: stopped server left alone, not joining",
                 input: input("n3", view(leader: "n1"), existing(stopped(controlState: "shut down"), sysid: "7499999999999999999")),
                 expected: [], says: "belongs to another cluster"),
    DecisionCase(description: "data of this cluster: stopped replica starts as before",
                 input: input("n3", view(leader: "n2"), existing(stopped(controlState: "shut down in recovery", standby: true), sysid: "7300000000000000001")),
                 expected: [.start(primary: false, upstream: "n2")], says: "starting as a replica of n2"),
    DecisionCase(description: "bootstrap race: lost, waiting for leader",
                 input: input("n2", { var v = ClusterView(); v.initialize = ""; return v }(), LocalPostgres()),
                 expected: [], says: "waiting for a leader to clone from"),
    // Watchdog mode required and no working device: never take (nor keep) the leader key.
    DecisionCase(description: "watchdog required but unusable: no bootstrap race",
                 input: input("n2", { var v = ClusterView(); v.initialize = nil; return v }(), LocalPostgres()) { $0.watchdogProblem = noDevice },
                 expected: [], says: "no cluster in etcd yet, not racing to initialize it: watchdog required but"),
    DecisionCase(description: "watchdog required but unusable: healthiest replica does not race",
                 input: input("n2", view(leader: nil), replica(lsn: 5000)) { $0.peers = [peer("n3", lsn: 4900)]; $0.watchdogProblem = noDevice },
                 expected: [], says: "no leader, not racing: watchdog required but"),
    DecisionCase(description: "watchdog usable: healthiest replica races as before",
                 input: input("n2", view(leader: nil), replica(lsn: 5000)) { $0.peers = [peer("n3", lsn: 4900)]; $0.watchdogProblem = nil },
                 expected: promoteSelf, says: "promoted self to leader"),
    DecisionCase(description: "watchdog required but unusable: a primary without the key goes read-only",
                 input: input("n1", view(leader: nil), primary()) { $0.watchdogProblem = noDevice },
                 expected: [.stop(.fast), .start(primary: false, upstream: nil)], says: "not taking the lock: watchdog required but"),
    DecisionCase(description: "watchdog required but unusable: the leader demotes and releases",
                 input: input("n1", view(leader: "n1"), primary()) { $0.watchdogProblem = noDevice },
                 expected: [.stop(.fast), .releaseLeader], says: "demoting: watchdog required but"),
    DecisionCase(description: "watchdog required but unusable: a switchover to me is refused",
                 input: input("n2", { var v = view(leader: nil); v.failover = FailoverRequest(leader: "n1", member: "n2", scheduledAt: nil, modRevision: 7); return v }(), replica()) {
                     $0.watchdogProblem = noDevice },
                 expected: [.clearFailover], says: "switchover to me refused: watchdog required but"),
    DecisionCase(description: "busy member only waits",
                 input: input("n2", view(leader: "n1"), LocalPostgres()) { $0.busy = "clone" },
                 expected: [], says: "clone in progress"),
]

@Suite struct DecisionTests {
    @Test(arguments: decisionTable)
    func decides(_ c: DecisionCase) {
        let d = HADecision.decide(c.input)
        #expect(d.actions == c.expected, "\(c.description): \(d.message)")
        #expect(d.message.contains(c.says), "\(c.description): said \"\(d.message)\"")
    }

    /// Patroni's history rows from a timeline history file: [tl, lsn, reason], the last one with time and leader.
    @Test func historyFileLines() {
        let text = "1\t0/3000158\tno recovery target specified\n\n2\t0/5000060\tbefore 2026-12-01 00:00:00+00\n"
        let rows = HistoryEntry.parseHistoryFile(text)
        #expect(rows.map(\.timeline) == [1, 2])
        #expect(rows.map(\.lsn) == [0x3000158, 0x5000060])
        #expect(rows[1].reason == "before 2026-12-01 00:00:00+00")
        #expect(rows[0].json.count == 3)
        var last = rows[1]; last.timestamp = "2026-12-07T01:00:00Z"; last.newLeader = "n1"
        #expect(last.json.count == 5)
    }

    @Test func timingDefaultsKeepPatroniRule() {
        let t = Timing()
        #expect(t.violation == nil)
        #expect(t.loopWait + 2 * t.retryTimeout <= t.ttl)
        var bad = t; bad.retryTimeout = 10
        #expect(bad.violation != nil)
    }
}
