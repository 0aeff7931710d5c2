// What the control commands do: check the request against etcd, ask the right member's REST API,
// wait for the outcome, and say it in one line. Output goes through `say`; questions through `confirm`.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

public struct ClusterActions: Sendable {
    public let client: ControlClient
    public let say: @Sendable (String) -> Void
    /// Asked before changing anything (the CLI asks on a TTY unless --force; otherwise yes).
    public let confirm: @Sendable (String) -> Bool

    public init(client: ControlClient, say: @escaping @Sendable (String) -> Void, confirm: @escaping @Sendable (String) -> Bool) {
        self.client = client; self.say = say; self.confirm = confirm
    }

    var scope: String { client.scope }

    public func table(_ v: ClusterView) -> String { ClusterTable.render(v, scope: scope, format: .pretty) }

    /// Waits until a leader other than `old` (or `expected`) is running and every member is running
    /// again, then prints the table (bounded; prints whatever it sees at the end).
    func settle(expected: String?, old: String?, timeout: Double = 60) async throws {
        let v = try await client.waitFor(timeout: timeout) { v in
            guard let l = v.leader, l != old || old == nil, expected == nil || l == expected else { return false }
            return v.members.allSatisfy { $0.state == "running" && ($0.name == l || $0.replicationState == "streaming") }
        }
        let final: ClusterView
        if let v { final = v } else { final = try await client.view() }
        say(table(final))
    }

    // MARK: switchover / failover

    public func switchover(leader: String?, candidate: String?, scheduled: String?) async throws {
        let v = try await client.view()
        let current = try client.leader(in: v)
        if let leader, leader != current.name { throw ControlError("leader name does not match: \(leader) is not the leader of \(scope) (leader: \(current.name))") }
        if let candidate {
            let m = try client.member(candidate, in: v)
            // The candidate's lag is the leader's to judge (POST /switchover measures it fresh;
            // etcd's figures can be a loop stale): a 412 below says why.
            if let why = v.ineligibility(m, checkLag: false) { throw ControlError("switchover refused: \(why)") }
        } else {
            if v.paused { throw ControlError("cluster \(scope) is paused: a switchover needs --candidate") }
            if v.bestCandidate() == nil { throw ControlError("switchover refused: no healthy candidate in \(scope)") }
        }
        if scheduled != nil && v.paused { throw ControlError("cluster \(scope) is paused: can not schedule a switchover") }
        say(table(v))
        let when = scheduled.map { " at \($0)" } ?? " now"
        guard confirm("Are you sure you want to switchover cluster \(scope)\(when), demoting current leader \(current.name)\(candidate.map { " in favour of \($0)" } ?? "")?") else {
            throw ControlError("aborted")
        }
        var body: [String: Any] = ["leader": current.name]
        if let candidate { body["candidate"] = candidate }
        if let scheduled { body["scheduled_at"] = scheduled }
        let answer = try await client.call(current, "POST", "/switchover", body: body, timeout: 90)
        switch answer.status {
        case 202: say("Switchover scheduled at \(scheduled ?? "?") (cancel with DELETE /switchover or `pgha switchover --cancel`)")
        case 200:
            let now = try await client.view()
            say("Successfully switched over to \(now.leader ?? candidate ?? "?")")
            try await settle(expected: now.leader, old: current.name)
        case 412: throw ControlError("switchover refused: \(answer.text.trimmingSpacesAndNewlines())")
        default: throw ControlError("switchover failed: \(answer.text)")
        }
    }

    public func cancelSwitchover() async throws {
        let v = try await client.view()
        guard v.failover?.scheduledAt != nil else { throw ControlError("no switchover is scheduled in \(scope)") }
        let m = try client.leader(in: v)
        let answer = try await client.call(m, "DELETE", "/switchover")
        guard answer.status == 200 else { throw ControlError("cancel failed: \(answer.text)") }
        say("Scheduled switchover cancelled")
    }

    public func failover(candidate: String) async throws {
        let v = try await client.view()
        let m = try client.member(candidate, in: v)
        if let why = v.ineligibility(m, checkLag: false) { throw ControlError("failover refused: \(why)") }
        say(table(v))
        guard confirm("Are you sure you want to failover cluster \(scope)\(v.leader.map { ", demoting current leader \($0)" } ?? ""), promoting \(candidate)?") else {
            throw ControlError("aborted")
        }
        // The leader (if any) carries it out; otherwise the candidate itself writes the request.
        let target = v.leader.flatMap { v.member($0) } ?? m
        let answer = try await client.call(target, "POST", "/failover", body: ["candidate": candidate], timeout: 90)
        guard answer.status == 200 else { throw ControlError("failover failed: \(answer.text)") }
        say("Successfully failed over to \(candidate)")
        try await settle(expected: candidate, old: v.leader)
    }

    // MARK: restart / reload / reinit

    /// Restarts members one at a time, replicas first and the leader last (the primary is not moved).
    public func restart(members names: [String], role: String?, pending: Bool, scheduled: String?) async throws {
        let v = try await client.view()
        for n in names { _ = try client.member(n, in: v) }
        if scheduled != nil && v.paused { throw ControlError("cluster \(scope) is paused: can not schedule a restart") }
        var targets = names.isEmpty ? v.members : v.members.filter { names.contains($0.name) }
        switch role {
        case "primary"?, "master"?: targets = targets.filter { $0.name == v.leader }
        case "replica"?: targets = targets.filter { $0.name != v.leader }
        default: break
        }
        if pending { targets = targets.filter(\.pendingRestart) }
        targets.sort { ($0.name == v.leader ? 1 : 0, $0.name) < ($1.name == v.leader ? 1 : 0, $1.name) }
        say(table(v))
        if targets.isEmpty { say(pending ? "No member of \(scope) needs a restart" : "No member matches"); return }
        guard confirm("Are you sure you want to restart members \(targets.map(\.name).joined(separator: ", "))\(scheduled.map { " at \($0)" } ?? "")?") else {
            throw ControlError("aborted")
        }
        var failed: [String] = []
        for m in targets {
            var body: [String: Any] = [:]
            if pending { body["restart_pending"] = true }
            if let scheduled { body["schedule"] = scheduled }
            let answer = try await client.call(m, "POST", "/restart", body: body, timeout: 120)
            switch answer.status {
            case 200: say("Success: restart on member \(m.name)")
            case 202: say("Success: restart scheduled on member \(m.name)")
            default: say("Failed: restart for member \(m.name), status code=\(answer.status), (\(answer.text))"); failed.append(m.name)
            }
        }
        if scheduled == nil {
            _ = try await client.waitFor(timeout: 30) { v in
                targets.allSatisfy { t in v.member(t.name).map { $0.state == "running" && !(failed.isEmpty && $0.pendingRestart) } ?? false }
            }
        }
        say(table(try await client.view()))
        if !failed.isEmpty { throw ControlError("restart failed on \(failed.joined(separator: ", "))") }
    }

    public func reload(members names: [String]) async throws {
        let v = try await client.view()
        let targets = names.isEmpty ? v.members : try names.map { try client.member($0, in: v) }
        guard confirm("Are you sure you want to reload members \(targets.map(\.name).joined(separator: ", "))?") else { throw ControlError("aborted") }
        var failed: [String] = []
        for m in targets {
            let answer = try await client.call(m, "POST", "/reload", timeout: 40)
            if answer.status == 200 { say("Success: reload on member \(m.name)") } else {
                say("Failed: reload for member \(m.name), status code=\(answer.status), (\(answer.text))"); failed.append(m.name)
            }
        }
        if !failed.isEmpty { throw ControlError("reload failed on \(failed.joined(separator: ", "))") }
    }

    /// Wipes and re-clones a replica; waits until it streams again.
    public func reinit(member name: String, wait: Double = 180) async throws {
        let v = try await client.view()
        let m = try client.member(name, in: v)
        if m.name == v.leader { throw ControlError("\(name) is the leader of \(scope): reinit is refused on the leader (switch over first)") }
        say(table(v))
        guard confirm("Are you sure you want to reinitialize member \(name)? Its data directory will be wiped.") else { throw ControlError("aborted") }
        // The postmaster now running (none: ""); the member must answer.
        var answered: [String: Any]?
        for _ in 0..<20 where answered == nil {
            answered = try await status(m)
            if answered == nil { try await Task.sleep(nanoseconds: 500_000_000) }
        }
        guard let answered else { throw ControlError.unreachable("\(name) does not answer on its REST API (\(m.apiURL))") }
        let before = answered["data_identity"] as? String
        let answer = try await client.call(m, "POST", "/reinitialize", body: ["force": true], timeout: 60)
        guard answer.status == 200 else { throw ControlError("reinit of \(name) failed: \(answer.text)") }
        say("Success: reinitialize for member \(name) started")
        // Done only when the member reports a data directory made by a new clone (the identity
        // the clone writes after pg_basebackup succeeded) and streams from it. A new postmaster
        // start time proves nothing: the old directory could simply have been started again.
        let deadline = Date().addingTimeInterval(wait)
        while true {
            if let s = try await status(m), let now = s["data_identity"] as? String, now != before,
               s["state"] as? String == "running", s["replication_state"] as? String == "streaming" { break }
            if Date() > deadline { throw ControlError("\(name) has no freshly cloned data directory streaming \(Int(wait)) s after reinitialize started") }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        say("Success: \(name) is streaming again")
        say(table(try await client.view()))
    }

    /// The member's own /patroni answer (nil when it does not answer).
    func status(_ m: MemberInfo) async throws -> [String: Any]? {
        guard let a = try? await client.call(m, "GET", "/patroni", timeout: 2), a.status == 200 else { return nil }
        return JSONText.object(a.body)
    }

    // MARK: pause / resume

    public func setPaused(_ paused: Bool, wait: Bool) async throws {
        let v = try await client.view()
        if v.paused == paused { throw ControlError("cluster \(scope) is \(paused ? "already paused" : "not paused")") }
        do {
            _ = try await ConfigEdit.update(client.store) { c in
                var c = c
                c["pause"] = paused ? true : nil
                return c
            }
        } catch let e as ConfigError { throw ControlError(e.description) } catch {
            throw ControlError.unreachable("etcd unreachable at \(client.config.etcdEndpoints.joined(separator: ",")): \(error)")
        }
        if wait {
            say("Waiting for every member to \(paused ? "pause" : "resume")…")
            let deadline = Date().addingTimeInterval(30)
            var pendingMembers = v.members
            while !pendingMembers.isEmpty && Date() < deadline {
                var left: [MemberInfo] = []
                for m in pendingMembers {
                    let a = try? await client.call(m, "GET", "/patroni", timeout: 2)
                    let d = a.flatMap { JSONText.object($0.body) }
                    if (JSONNumber.bool(d?["pause"]) ?? false) != paused { left.append(m) }
                }
                pendingMembers = left
                if !left.isEmpty { try await Task.sleep(nanoseconds: 200_000_000) }
            }
            if !pendingMembers.isEmpty { throw ControlError("members \(pendingMembers.map(\.name).joined(separator: ", ")) did not \(paused ? "pause" : "resume") within 30 s") }
        }
        say("Success: cluster management is \(paused ? "paused" : "resumed")")
    }
}
