// `pgha remove` against a loopback cluster: the questions, the refusals, --force, and what is left.
import AgentCore
import Fixtures
import Foundation
import Testing

extension AgentOpsClusters { @Suite(.serialized) struct RemoveTests {
    @Test func removeAsksRefusesAndWipes() throws {
        let cluster = try AgentCluster(size: 1, scope: "wipe")
        defer { cluster.shutdown() }
        try cluster.startAll()
        _ = try cluster.eventually(60, "n1 primary") { cluster.status("n1", "/primary") == 200 ? true : nil }
        let sysid = try #require(cluster.etcdValue("initialize"))
        let keys = try #require(cluster.etcdKeyCount())
        #expect(keys >= 4, "initialize, config, leader, members/n1 at least")

        let wrongName = try cluster.cli(["remove", "other", "--yes"])
        #expect(wrongName.status == 2 && wrongName.err.contains("scope is wipe, not other"), "\(wrongName)")
        let withLeader = try cluster.cli(["remove", "wipe", "--yes"])
        #expect(withLeader.status == 2 && withLeader.err.contains("n1 holds the leader key") && withLeader.err.contains("--force"), "\(withLeader)")
        let notConfirmed = try cluster.cli(["remove", "wipe", "--force"], input: "wipe\nyes\n")
        #expect(notConfirmed.status == 2 && notConfirmed.err.contains("was not typed"), "\(notConfirmed)")
        let noAnswer = try cluster.cli(["remove", "wipe", "--force"], input: "")
        #expect(noAnswer.status == 2 && noAnswer.err.contains("aborted"), "\(noAnswer)")
        #expect(cluster.etcdValue("initialize") == sysid, "nothing removed by the refusals")

        // Forced while the agent runs: the keys go, and the agent takes its running primary over again.
        let t0 = Date()
        let forced = try cluster.cli(["remove", "wipe", "--force"], input: "wipe\n\(ClusterActions.removalPhrase)\n")
        #expect(forced.status == 0 && forced.out.contains("Removed cluster wipe"), "\(forced)")
        _ = try cluster.eventually(30, "n1 leader again") { cluster.etcdValue("leader") == "n1" && cluster.status("n1", "/primary") == 200 ? true : nil }
        print("remove --force: n1 took its primary over again \(String(format: "%.1f", Date().timeIntervalSince(t0))) s after the keys went")
        #expect(cluster.etcdValue("initialize") == sysid)

        // The agent stopped (the leader key released): removed without --force, nothing left.
        cluster.agent("n1")?.stop(grace: 15)
        #expect(cluster.etcdValue("leader") == nil)
        let wiped = try cluster.cli(["remove", "wipe", "--yes"])
        #expect(wiped.status == 0, "\(wiped)")
        #expect(cluster.etcdKeyCount() == 0)
        let again = try cluster.cli(["remove", "wipe", "--yes"])
        #expect(again.status == 2 && again.err.contains("nothing to remove"), "\(again)")
    }
} }
