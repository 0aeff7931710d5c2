import AgentCore
import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// `pgha remove NAME` (patronictl remove): every key of the cluster in etcd, after two questions.
struct Remove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove a cluster's keys from etcd (patronictl remove).",
        discussion: "Asks for the cluster name and \"\(ClusterActions.removalPhrase)\" on stdin unless --yes. Refused while a member holds the leader key unless --force.")
    @OptionGroup var options: ControlOptions
    @Argument(help: "The cluster (scope) to remove; must be the configuration's scope.") var name: String
    @Flag(help: "Do not ask (automation).") var yes = false
    @Flag(help: "Remove even while a member holds the leader key.") var force = false

    func run() async throws {
        let ask: ((String) -> String?)? = yes ? nil : { question in
            print("\(question): ", terminator: "")
            fflush(stdout)
            return readLine()?.trimmingSpaces()
        }
        try await Control.run(options) { a in try await a.remove(cluster: name, force: force, ask: ask) }
    }
}
