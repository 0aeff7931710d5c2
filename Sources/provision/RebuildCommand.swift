import ArgumentParser
import Provision

struct RebuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Wipe a replica's data directory and make it again: from the primary, or from the backup repository.")
    @OptionGroup var cluster: ClusterArguments
    @Argument(help: "The member to rebuild.") var host: String
    @Flag(name: .customLong("force-failover"), help: "Allow rebuilding the current primary: it is switched over first.")
    var forceFailover = false
    @Option(help: "primary (pg_basebackup) or backup (restore from the pgBackRest repository, then stream).")
    var from: RebuildSource = .primary

    func run() throws {
        let workflow = try cluster.workflow()
        try clusterCall { try workflow.rebuild(host: host, forceFailover: forceFailover, from: from) }
    }
}

extension RebuildSource: ExpressibleByArgument {}
