// Patroni users' scenarios (issue 15) on the lab of ClusterEndToEndTests, through the members' REST
// API and pgha CLI as an operator would use them, each change put back before the next step:
// data_dir's missing parent made by the agent, a renamed parameter in the dynamic config, a parameter PostgreSQL 15 does not know refused, a
// PATCH with a tight ttl accepted and adjusted, synchronous_node_count 2 with both standbys in
// the sync key, and a second agent under a running member's name refused.
import Fixtures
import Foundation
import Testing
@testable import Provision

extension ClusterEndToEndTests {
    static func checkPatroniScenarios(_ workflow: ClusterWorkflow) throws {
        let inv = workflow.inventory
        let dbs = inv.hosts(inGroup: "postgres")
        func on(_ host: String, _ command: String) throws -> CommandResult {
            let t = try Connector.transport(forHost: host, variables: inv.variables(forHost: host))
            defer { t.close() }
            return try t.run(command)
        }
        func patch(_ body: String) throws -> CommandResult { try on(dbs[0], "pgha-api PATCH /config '\(body)'") }
        func show(_ host: String, _ name: String) throws -> String {
            try on(host, "runuser -u postgres -- psql -qAtc 'show \(name)'").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        // Bootstrap with a missing parent of data_dir (the playbook does not make clusters/): pgha made it.
        for db in dbs {
            let dataDir = "\(try NestedVariables(inv.variables(forHost: db)).templater.render("{{ postgres_data_dir }}"))"
            let parent = (dataDir as NSString).deletingLastPathComponent
            let made = try on(db, "stat -c '%U %a' \(parent)").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(made == "postgres 750", "\(db): \(parent) is '\(made)', not made by pgha (postgres 750)")
        }
        let original = try #require(try JSONSerialization.jsonObject(with: Data(try on(dbs[0], "pgha-api GET /config").stdout.utf8)) as? [String: Any])
        let keepSize = ((original["postgresql"] as? [String: Any])?["parameters"] as? [String: Any])?["wal_keep_size"].map { "\($0)" } ?? "256MB"

        // An older config's wal_keep_segments: written as wal_keep_size for 15 on every member.
        #expect(try patch(#"{"postgresql": {"parameters": {"wal_keep_size": null, "wal_keep_segments": 64}}}"#).exitStatus == 0)
        #expect(try waitUntil(timeout: 20, interval: 0.5) { try dbs.allSatisfy { try show($0, "wal_keep_size") == "1GB" } },
                "wal_keep_segments 64 did not become wal_keep_size 1GB on every member")
        #expect(try patch(#"{"postgresql": {"parameters": {"wal_keep_segments": null, "wal_keep_size": "\#(keepSize)"}}}"#).exitStatus == 0)

        // A parameter 15 does not know: refused with the reason by the CLI and the REST API; config unchanged.
        let before = try on(dbs[0], "pgha-api GET /config").stdout
        let cli = try on(dbs[1], "pgha edit-config -c /etc/pgha/pgha.yml --force -p checkpoint_segments=8")
        #expect(cli.exitStatus == 2 && cli.stderr.contains("checkpoint_segments: unknown to PostgreSQL 15"), "edit-config: \(cli.exitStatus) \(cli.stderr)")
        let rest = try patch(#"{"postgresql": {"parameters": {"checkpoint_segments": 8}}}"#)
        #expect(rest.exitStatus != 0 && rest.stderr.contains("400") && rest.stdout.contains("unknown to PostgreSQL 15"), "PATCH: \(rest.stderr)")
        #expect(try on(dbs[0], "pgha-api GET /config").stdout == before)

        // Patroni's PATCH with a tight ttl: accepted; the agents derive timeouts that keep the rule.
        let since = try on(dbs[0], "date -u '+%Y-%m-%d %H:%M:%S'").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try patch(#"{"ttl": 20, "loop_wait": 2, "retry_timeout": 10}"#).exitStatus == 0)
        #expect(try waitUntil(timeout: 20, interval: 0.5) {
            try on(dbs[0], "journalctl -u pgha --since '\(since)' -o cat --no-pager | grep -c 'using loop_wait 2.0 → 1.0, retry_timeout 10.0 → 9.5'").exitStatus == 0
        }, "no member logged the adjusted timeouts")
        let timing = ["ttl", "loop_wait", "retry_timeout"].map { "\"\($0)\": \(original[$0].map { "\($0)" } ?? "null")" }.joined(separator: ", ")
        #expect(try patch("{\(timing)}").exitStatus == 0)

        // synchronous_node_count 2: both standbys in the sync key, both sync_standby in /cluster.
        #expect(try patch(#"{"synchronous_mode": true, "synchronous_node_count": 2}"#).exitStatus == 0)
        var sync = 0
        #expect(try waitUntil(timeout: 30, interval: 0.5) {
            let cluster = try JSONSerialization.jsonObject(with: Data(try on(dbs[0], "pgha-api GET /cluster").stdout.utf8)) as? [String: Any]
            sync = ((cluster?["members"] as? [[String: Any]]) ?? []).filter { $0["role"] as? String == "sync_standby" }.count
            return sync == 2
        }, "synchronous_node_count 2: \(sync) sync standbys")
        let syncKey = try on(dbs[0], "pgha list -c /etc/pgha/pgha.yml").stdout
        print("[cluster e2e] synchronous_node_count 2:\n\(syncKey)")
        #expect(try patch(#"{"synchronous_mode": false, "synchronous_node_count": 1}"#).exitStatus == 0)

        // A second agent under a running member's name (other ports and data dir): refused at start.
        let host = dbs[1]
        let dup = try on(host, """
            set -e; d=$(mktemp -d); chown postgres: "$d"; chmod 700 "$d"
            sed -e 's/:5432/:15432/g; s/:8008/:18008/g; s#data_dir: .*#data_dir: '"$d"'/data#' /etc/pgha/pgha.yml > "$d/pgha.yml"
            chown postgres: "$d/pgha.yml"; chmod 600 "$d/pgha.yml"
            rc=0; timeout 30 setpriv --reuid=postgres --regid=postgres --init-groups pgha serve --config "$d/pgha.yml" >/dev/null 2>"$d/err" || rc=$?
            cat "$d/err" >&2; test ! -e "$d/data" && echo "no data dir"; rm -rf "$d"; exit $rc
            """)
        #expect(dup.exitStatus == 1 && dup.stderr.contains("there is already a node named '\(host)' running") && dup.stdout.contains("no data dir"),
                "duplicate name on \(host): exit \(dup.exitStatus): \(dup.stderr.suffix(400))")
        print("[cluster e2e] patroni scenarios: renamed parameter, unknown parameter refused, tight ttl adjusted, 2 sync standbys, duplicate name refused")
    }
}

extension ClusterEndToEndTests {
    /// The host's clock (UTC), for journalctl --since.
    static func hostClock(_ workflow: ClusterWorkflow, _ host: String) throws -> String {
        let t = try Connector.transport(forHost: host, variables: workflow.inventory.variables(forHost: host))
        defer { t.close() }
        return try t.run("date -u '+%Y-%m-%d %H:%M:%S'").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// postgresql.callbacks fired by a switchover as Patroni fires them (the lab's pgha_callbacks log
    /// each call to the journal): the old primary on_stop then on_role_change replica, the new one
    /// on_role_change primary, each with the scope.
    static func checkCallbacks(_ workflow: ClusterWorkflow, since: String, oldPrimary: String, newPrimary: String) throws {
        let scope = try #require(workflow.inventory.variables(forHost: newPrimary)["cluster_name"] as? String)
        func calls(_ host: String) throws -> [String] {
            let t = try Connector.transport(forHost: host, variables: workflow.inventory.variables(forHost: host))
            defer { t.close() }
            return try t.run("journalctl -t pgha-callback --since '\(since)' -o cat --no-pager -q").stdout.split(separator: "\n").map(String.init)
        }
        var old: [String] = [], new: [String] = []
        let deadline = Date().addingTimeInterval(20)
        repeat {
            (old, new) = (try calls(oldPrimary), try calls(newPrimary))
            if old.contains("on_role_change replica \(scope)") && new.contains("on_role_change primary \(scope)") { break }
            Thread.sleep(forTimeInterval: 0.5)
        } while Date() < deadline
        print("[cluster e2e] callbacks since \(since): \(oldPrimary) \(old), \(newPrimary) \(new)")
        #expect(old.suffix(2) == ["on_stop primary \(scope)", "on_role_change replica \(scope)"], "callbacks on the old primary \(oldPrimary): \(old)")
        #expect(new.contains("on_role_change primary \(scope)"), "callbacks on the new primary \(newPrimary): \(new)")
    }
}
