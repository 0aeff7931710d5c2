import ArgumentParser
import Provision

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Load the airline bookings demo database (generated offline) and pgbench's tables through HAProxy.")
    @OptionGroup var cluster: ClusterArguments
    @Option(help: "Demo database scale: 1 is 30 days of flights and 1,500 bookings.") var scale = 1
    @Option(name: .customLong("pgbench-scale"), help: "pgbench -i scale.") var pgbenchScale = 1

    func validate() throws {
        guard (1...1000).contains(scale) else { throw ValidationError("--scale must be 1...1000") }
        guard pgbenchScale >= 1 else { throw ValidationError("--pgbench-scale must be at least 1") }
    }

    func run() throws {
        let workflow = try cluster.workflow()
        try clusterCall { try workflow.demo(scale: scale, pgbenchScale: pgbenchScale) }
    }
}
