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

/// `pgha list`: the members' table (Patroni's columns), optionally repeated every N seconds.
struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the cluster's members, roles, lag and pending restarts.")
    @OptionGroup var options: ControlOptions
    @Option(name: [.short, .long], help: "pretty, json or yaml.") var format: OutputFormat = .pretty
    @Option(name: [.short, .long], help: "Repeat every SECONDS until interrupted.") var watch: Double?

    func run() async throws {
        try await Control.run(options) { a in
            repeat {
                let v = try await a.client.view()
                if watch != nil && format == .pretty { print(iso8601(Date())) }
                print(ClusterTable.render(v, scope: a.client.scope, format: format))
                if let w = watch { try await Task.sleep(nanoseconds: UInt64(max(0.2, w) * 1e9)) }
            } while watch != nil
        }
    }
}
