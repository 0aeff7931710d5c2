import AgentCore
import ArgumentParser
import CLI
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Flags every control command shares: where the cluster's configuration is.
struct ControlOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "patroni.yml-style configuration file (etcd hosts, scope, REST auth); $PGHA_CONFIG.")
    var config: String = ProcessInfo.processInfo.environment["PGHA_CONFIG"] ?? "/etc/pgha/pgha.yml"
}

enum Control {
    /// Runs `body` with a client; errors become a `CommandFailure` by their kind.
    static func run(_ options: ControlOptions, force: Bool = false, _ body: (ClusterActions) async throws -> Void) async throws {
        let client: ControlClient
        do { client = try ControlClient.load(path: options.config) } catch { throw failure(error) }
        let actions = ClusterActions(client: client, say: { print($0) }, confirm: { question in
            if force || isatty(0) == 0 { return true }
            print("\(question) [y/N]: ", terminator: "")
            fflush(stdout)
            return ["y", "yes"].contains(readLine()?.lowercased() ?? "")
        })
        do {
            try await body(actions)
        } catch {
            await client.shutdown()
            throw failure(error)
        }
        await client.shutdown()
    }

    /// A control error's kind as an exit code: configuration 1, refused 2, unreachable 4.
    static func failure(_ error: Error) -> CommandFailure {
        guard let control = error as? ControlError else { return CommandFailure(.failed, "\(error)") }
        switch control.kind {
        case .configuration: return CommandFailure(.usage, control.description)
        case .refused: return CommandFailure(.failed, control.description)
        case .unreachable: return CommandFailure(.unreachable, control.description)
        }
    }
}

extension OutputFormat: ExpressibleByArgument {}
